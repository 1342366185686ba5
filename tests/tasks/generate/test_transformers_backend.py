"""The transformers backend and the self-consistency NLL on the real SmolLM2-135M-Instruct."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.base_models import resolve_base_model
from tasks.generate.nll import response_nll
from tasks.generate.stage import generate_rows, self_consistency
from tasks.manifest import read_manifest
from tasks.rows import read_rows
from tests.tasks.generate.helpers import SMOLLM2, write_params, write_small_manifest

pytestmark = pytest.mark.slow
MAX_TOKENS = 24
CONTRACT_KEYS = {"id", "dataset", "kind", "split", "messages", "response", "seed_description", "prompt", "prompt_id",
                 "generator", "finish_reason", "response_tokens", "attempts", "flags"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("generate")
    manifest = write_small_manifest(root / "corpus")
    params, _ = write_params(root, manifest=manifest, out=str(root / "rows.jsonl"), work_dir=str(root / "work"),
                             backend="transformers", batch_size=4, temperature=0.0, max_new_tokens=MAX_TOKENS,
                             nll_sample_rows=0)
    return params, generate_rows(params), root


def test_every_clip_gets_one_row_in_the_contract_sorted_by_id(generated):
    params, metrics, root = generated
    rows = read_rows(params.generate.out)
    manifest = read_manifest(params.generate.manifest)
    assert [row["id"] for row in rows] == sorted(manifest["id"]) and metrics["rows"] == len(rows)
    for row in rows:
        assert set(row) == CONTRACT_KEYS
        user = row["messages"][1]
        assert user["content"] == f"<|AUDIO|>\n{row['prompt']}"
        assert (root / "corpus" / user["audios"][0]["audio"]).is_file()
        assert row["generator"]["model"] == SMOLLM2 and row["generator"]["backend"] == "transformers"
        assert row["generator"]["foreign_override"] is False
        assert 0 < row["response_tokens"] <= MAX_TOKENS and row["attempts"] == 1  # max_attempts: 1 here
        assert (row["finish_reason"] == "length") == (row["response_tokens"] == MAX_TOKENS) \
            == ("truncated" in row["flags"])
    sound = next(row for row in rows if row["kind"] == "sound")
    assert sound["messages"][1]["audios"][0]["text"] == " "
    assert metrics["tokens"] == sum(row["response_tokens"] for row in rows)


def test_a_second_run_resumes_every_row_and_writes_the_same_output(generated):
    params, _, _ = generated
    before = Path(params.generate.out).read_text()
    Path(params.generate.out).unlink()  # as DVC deletes outs before running a stage
    metrics = generate_rows(params)
    assert metrics["rows_resumed"] == metrics["rows"] and metrics["rows_generated"] == 0
    assert Path(params.generate.out).read_text() == before


def test_own_targets_are_more_likely_than_other_clips_targets(generated):
    params, _, _ = generated
    own = self_consistency(params)
    rows = read_rows(params.generate.out)
    assert own["nll_rows"] == len([row for row in rows if row["response"].strip()]) and own["nll_mean"] > 0
    # Each row's response paired with another clip's description and instruction.
    swapped = [{**row, "response": rows[(n + 1) % len(rows)]["response"]} for n, row in enumerate(rows)]
    other = response_nll(resolve_base_model(SMOLLM2), [row for row in swapped if row["response"].strip()])
    assert other["nll_mean"] > own["nll_mean"]
