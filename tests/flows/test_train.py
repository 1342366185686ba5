"""The train flow end to end on tiny random base models: metrics, summary, run record; bad rows exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.train import main, train
from tests.tasks.train.conftest import base_dirs, make_rows, write_project  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


@pytest.fixture
def prefect_api(prefect_server):
    with prefect_server.settings():
        yield


def test_flow_trains_and_reports_valid_loss_by_condition_and_kind(prefect_api, tmp_path, base_dirs, capsys):
    params_file = write_project(tmp_path, base_dirs)
    metrics_file = tmp_path / "metrics" / "train.json"

    metrics = train(str(params_file), str(metrics_file))

    assert json.loads(metrics_file.read_text()) == metrics
    assert set(metrics["valid_loss"]) == {"untrained", "text_only", "mismatched", "trained"}
    assert all(set(v) == {"all", "speech", "sound", "music"} for v in metrics["valid_loss"].values())
    assert metrics["samples_per_s"] > 0 and metrics["tokens_per_s"] > 0
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["mlflow_run_id"] and run["tracking_uri"].startswith("sqlite:///")
    printed = capsys.readouterr().out
    assert "| mismatched |" in printed and "samples_per_s" in printed


def test_bad_row_under_fail_exits_1_naming_it(prefect_api, tmp_path, base_dirs, capsys):
    rows = make_rows(tmp_path / "corpus")
    rows[0]["response"] = ""
    params_file = write_project(tmp_path, base_dirs, rows=rows, on_bad_row="fail")
    assert main(["--params", str(params_file), "--metrics", str(tmp_path / "train.json")]) == 1
    assert "row 'speech-0': the response is empty" in capsys.readouterr().err
    assert not Path(tmp_path / "model").exists()
