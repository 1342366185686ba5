"""The corpus-gate flow end to end on a tiny real corpus: clean input passes untouched; a broken one exits 1."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from prefect.artifacts import Artifact

from flows.validate_corpus import main, validate_corpus
from tasks.manifest import to_frame, write_manifest
from tasks.params import REPO_ROOT
from tests.tasks.validate.gate_helpers import build_audio, clean_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_api(prefect_server):
    with prefect_server.settings():
        yield


def corpus_with_params(tmp_path: Path, rows_edit=None) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    durations = build_audio(corpus)
    rows = clean_rows(10, durations["audio/speech.wav"])
    if rows_edit:
        rows_edit(rows)
    write_manifest(to_frame(rows), str(corpus / "manifest.parquet"))
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params["validate_corpus"].update(
        manifest=str(corpus / "manifest.parquet"), clean=str(corpus / "clean.parquet"),
        quarantine=str(corpus / "quarantine.jsonl"), report=str(corpus / "validation"))
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    return corpus, params_file


def test_flow_passes_a_clean_corpus_with_nothing_quarantined(prefect_api, tmp_path):
    corpus, params_file = corpus_with_params(tmp_path)
    metrics_file = tmp_path / "metrics" / "validate_corpus.json"

    metrics = validate_corpus(str(params_file), str(metrics_file))

    assert metrics["passed"] and (metrics["rows"], metrics["clean"], metrics["quarantined"]) == (10, 10, 0)
    assert json.loads(metrics_file.read_text()) == metrics
    pd.testing.assert_frame_equal(pd.read_parquet(corpus / "clean.parquet"),
                                  pd.read_parquet(corpus / "manifest.parquet"))
    assert (corpus / "quarantine.jsonl").read_text() == ""
    assert (corpus / "validation" / "index.html").is_file()
    artifact = Artifact.get("validate-corpus")
    assert artifact is not None and "# validate_corpus: PASSED" in artifact.data


def test_flow_exits_non_zero_naming_the_failed_check(prefect_api, tmp_path, capsys):
    def lose_a_file(rows):
        rows[4] = dict(rows[4], path="audio/never_written.wav")

    corpus, params_file = corpus_with_params(tmp_path, lose_a_file)
    metrics_file = tmp_path / "metrics.json"

    assert main(["--params", str(params_file), "--metrics", str(metrics_file)]) == 1

    message = capsys.readouterr().err
    assert "1 of 10 rows (10.00%) failed row-level checks" in message
    assert "file_exists (expect_column_values_to_be_null): 1 rows, e.g. row_index=4, id=clip-0004" in message
    assert json.loads(metrics_file.read_text())["passed"] is False
    assert not (corpus / "clean.parquet").exists()
    assert json.loads((corpus / "quarantine.jsonl").read_text())["id"] == "clip-0004"


def test_a_failing_run_leaves_no_earlier_clean_manifest_beside_its_quarantine(prefect_api, tmp_path):
    corpus, params_file = corpus_with_params(tmp_path)
    metrics_file = tmp_path / "metrics.json"
    assert main(["--params", str(params_file), "--metrics", str(metrics_file)]) == 0
    assert (corpus / "clean.parquet").is_file()

    manifest = pd.read_parquet(corpus / "manifest.parquet")
    manifest.loc[[3, 4], "path"] = "audio/never_written.wav"
    write_manifest(manifest, str(corpus / "manifest.parquet"))
    assert main(["--params", str(params_file), "--metrics", str(metrics_file)]) == 1

    assert not (corpus / "clean.parquet").exists()  # the next stage cannot read the first run's clean rows
    assert [json.loads(line)["row_index"] for line in (corpus / "quarantine.jsonl").read_text().splitlines()] == [3, 4]
    assert json.loads(metrics_file.read_text())["passed"] is False
