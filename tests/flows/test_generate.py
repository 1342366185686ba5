"""The generate flow on a tiny real corpus with the transformers backend and the real SmolLM2."""

from __future__ import annotations

import json

import pytest
from prefect.artifacts import Artifact

from flows.generate import generate, summary_markdown
from tasks.rows import read_rows
from tests.tasks.generate.helpers import write_params, write_small_manifest


@pytest.mark.slow
def test_flow_writes_rows_metrics_and_a_summary_artifact(prefect_server, tmp_path, capsys):
    manifest = write_small_manifest(tmp_path / "corpus", speech_clips=1)
    _, params_file = write_params(tmp_path, manifest=manifest, out=str(tmp_path / "rows.jsonl"),
                                  work_dir=str(tmp_path / "work"), backend="transformers", max_new_tokens=8,
                                  nll_sample_rows=2)
    metrics_file = tmp_path / "metrics" / "generate.json"
    with prefect_server.settings():
        metrics = generate(str(params_file), str(metrics_file))
        artifact = Artifact.get("generate-summary")

    assert json.loads(metrics_file.read_text()) == metrics
    assert metrics["rows"] == len(read_rows(str(tmp_path / "rows.jsonl"))) == 3
    assert metrics["nll_rows"] == 2 and metrics["nll_mean"] > 0 and metrics["backend"] == "transformers"
    assert artifact is not None and "| rows | 3 |" in artifact.data and "self-consistency NLL" in artifact.data
    assert "| rows | 3 |" in capsys.readouterr().out


def test_summary_lists_flag_reasons_and_handles_a_missing_nll():
    metrics = {"rows": 4, "rows_generated": 1, "rows_resumed": 3, "tokens": 90, "tokens_per_s": 12.5,
               "rows_per_s": 0.5, "rows_retried": 2, "requests": 5, "rows_flagged": 2, "flags": {"template_echo": 1, "truncated": 2},
               "finish_reasons": {"length": 2, "stop": 2}, "nll_mean": None, "nll_rows": 0, "nll_tokens": 0,
               "backend": "vllm", "generator": "m", "generator_revision": "r", "foreign_override": True}
    summary = summary_markdown(metrics)
    assert "| flagged by reason | template_echo: 1, truncated: 2 |" in summary
    assert "| rows generated / resumed | 1 / 3 |" in summary
    assert "| rows asked again | 2 |" in summary and "| requests | 5 |" in summary
    assert "| self-consistency NLL | n/a |" in summary and "| foreign override | True |" in summary
