"""Stage logic without a model server: self-generation checks, server start-up failure, fingerprints."""

from __future__ import annotations

import sys

import pytest

from tasks.generate.backends import GenerationFailed, RetryPolicy
from tasks.generate.stage import (
    Generator,
    SelfGenerationError,
    check_served_model,
    generate_rows,
    plan_rows,
    resolve_generator,
    run_fingerprint,
)
from tasks.servers import ServerStartError
from tasks.params import ParamsError
from tests.tasks.generate.fault_server import FaultServer, closed_port_url
from tests.tasks.generate.helpers import SMOLLM2, write_params, write_small_manifest

POLICY = RetryPolicy(timeout_s=2, max_retries=1, backoff_s=0.0)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return write_small_manifest(tmp_path_factory.mktemp("corpus"))


def params_for(tmp_path, manifest, **generate):
    params, _ = write_params(tmp_path, manifest=manifest, out=str(tmp_path / "rows.jsonl"),
                             work_dir=str(tmp_path / "work"), **generate)
    return params


def with_generate(params, **changes):
    return params.model_copy(update={"generate": params.generate.model_copy(update=changes)})


def test_a_generator_other_than_the_backbone_is_refused_when_params_load(tmp_path, manifest):
    with pytest.raises(ParamsError, match="generate.generator='other/llm' is not the backbone"):
        params_for(tmp_path, manifest, generator="other/llm")


def test_resolve_generator_refuses_a_foreign_model_and_records_an_override(tmp_path, manifest):
    params = params_for(tmp_path, manifest)
    assert resolve_generator(params).model == SMOLLM2 and not resolve_generator(params).foreign_override
    foreign = with_generate(params, generator="other/llm")  # bypasses the params validator
    with pytest.raises(SelfGenerationError, match="allow_foreign_generator"):
        resolve_generator(foreign)
    overridden = resolve_generator(with_generate(foreign, allow_foreign_generator=True))
    assert overridden.model == "other/llm" and overridden.foreign_override


def test_an_endpoint_serving_another_model_is_refused(tmp_path, manifest):
    with FaultServer(models=["some/other-model"]) as server:
        params = params_for(tmp_path, manifest, endpoints=[server.url])
        with pytest.raises(SelfGenerationError, match=r"serves \['some/other-model'\], not the generator"):
            generate_rows(params)
        backbone = Generator(model=SMOLLM2, model_dir="unused", revision="r", foreign_override=False)
        used = check_served_model(backbone, [server.url], allow_foreign=True, policy=POLICY)
    assert used.model == "some/other-model" and used.foreign_override
    assert not (tmp_path / "rows.jsonl").exists()


def test_an_endpoint_that_is_down_fails_before_any_row(tmp_path, manifest):
    params = params_for(tmp_path, manifest, endpoints=[closed_port_url()], max_retries=1, backoff_s=0.0)
    with pytest.raises(GenerationFailed, match="listing served models.*ConnectError"):
        generate_rows(params)


@pytest.mark.slow  # a Python start-up and exit: ~2-6 s
def test_a_local_server_that_cannot_start_fails_with_its_log_tail(tmp_path, manifest):
    # The project venv has no vLLM: the server process dies at import, as a broken install would.
    params = params_for(tmp_path, manifest, vllm_python=sys.executable, vllm_startup_timeout_s=60)
    with pytest.raises(ServerStartError, match="(?s)exited with code 1.*No module named 'vllm'"):
        generate_rows(params)
    assert not list((tmp_path / "work").glob("*/vllm-server.pid"))
    assert list((tmp_path / "work").glob("*/vllm-server.log"))


def test_fingerprint_follows_content_params_not_operational_ones(tmp_path, manifest):
    params = params_for(tmp_path, manifest)
    generator = resolve_generator(params)

    def digest(changed):
        return run_fingerprint(changed, plan_rows(changed), generator, "template")

    base = digest(params)
    assert digest(with_generate(params, concurrency=64, shard_rows=3, endpoints=["http://x:1"])) == base
    for change in ({"temperature": 0.7}, {"system_prompt": "Other."}, {"seed": 1}, {"max_new_tokens": 9}):
        assert digest(with_generate(params, **change)) != base, change


@pytest.mark.slow  # a second Python process: ~5-10 s
def test_two_generate_runs_on_one_work_dir_the_second_is_refused_naming_the_first(tmp_path, manifest):
    import subprocess
    import time

    from tasks.storage import HOLDER_NAME, DirectoryBusy

    # The endpoint lists the backbone and then never answers a completion: the first run stays busy.
    with FaultServer(models=[SMOLLM2], hang_s=120) as server:
        _, params_file = write_params(tmp_path, manifest=manifest, out=str(tmp_path / "rows.jsonl"),
                                      work_dir=str(tmp_path / "work"), endpoints=[server.url])
        first = subprocess.Popen([sys.executable, "-c", "import sys; from tasks.generate.stage import generate_rows; "
                                  "from tasks.params import load_params; generate_rows(load_params(sys.argv[1]))",
                                  str(params_file)], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while not (tmp_path / "work" / HOLDER_NAME).exists():
                assert first.poll() is None and time.monotonic() < deadline, "the first run never started"
                time.sleep(0.2)
            with pytest.raises(DirectoryBusy, match=f"in use by another generate run \\(pid {first.pid} on "):
                generate_rows(params_for(tmp_path, manifest, endpoints=[server.url]))
        finally:
            first.kill()
            first.wait(timeout=30)
    assert not (tmp_path / "rows.jsonl").exists()


def test_only_answers_that_miss_an_asked_described_value_count_as_ungrounded():
    from tasks.generate.stage import states_described_value

    categories = {"g": "gender_question", "d": "description"}
    speech = "[00:00-00:02] Hello. (Gender: Female, Duration: 2s)"
    row = lambda prompt_id, response: {"prompt_id": prompt_id, "response": response,  # noqa: E731
                                       "seed_description": speech}
    assert states_described_value(row("g", "The speaker is a woman."), categories)
    assert not states_described_value(row("g", "The speaker is male."), categories)
    assert not states_described_value(row("g", "Yes."), categories)
    assert states_described_value(row("d", "Someone says hello."), categories)  # asks for no attribute
    assert states_described_value(row("g", "Yes."), {})  # retry_ungrounded off: no categories
