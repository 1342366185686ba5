"""The training run's MLflow record on a real tracking server: every setting, the curves, the tags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tasks.params import load_params
from tasks.train.stage import run_training
from tasks.train.tracking import flat_settings, log_results
from tests.tasks.train.conftest import write_project


@pytest.mark.slow
def test_mlflow_run_holds_settings_curves_and_tags(tmp_path, base_dirs, mlflow_server, monkeypatch):
    for key, value in mlflow_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DVC_EXP_NAME", "lr-sweep-1")  # what `dvc exp run` sets
    params = load_params(write_project(tmp_path, base_dirs, tracking_uri=mlflow_server.url, max_steps=8,
                                       logging_steps=2, save_steps=4, experiment="train-tests"))
    run_training(params)
    info = json.loads(Path(params.train.run_info).read_text())
    assert info["tracking_uri"] == mlflow_server.url and info["mlflow_experiment"] == "train-tests"
    log_results(params, info["mlflow_run_id"], {"valid_loss.trained.all": 1.25, "samples_per_s": 3.0})

    client = MlflowClient(tracking_uri=mlflow_server.url)
    run = client.get_run(info["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "train-tests"
    # Every setting of the model and train sections, plus the Trainer's own arguments.
    for key, value in flat_settings(params).items():
        assert run.data.params[key] == value[:6000]
    assert run.data.params["learning_rate"] == str(params.train.lr)
    for curve in ("loss", "learning_rate", "grad_norm"):
        steps = [m.step for m in client.get_metric_history(run.info.run_id, curve)]
        assert steps == [1, 2, 4, 6, 8], (curve, steps)
    assert run.data.metrics["valid_loss.trained.all"] == 1.25 and run.data.metrics["samples_per_s"] == 3.0
    tags = run.data.tags
    assert len(tags["git_commit"].removesuffix("-dirty")) == 40
    assert tags["base_model.llm"] == params.model.llm and tags["base_model.llm_revision"].startswith("local:")
    assert tags["base_model.encoder_revision"].startswith("local:")
    assert tags[f"dvc.{params.train.rows}"] == "unlocked"  # a file no dvc.lock records
    assert tags["dvc.experiment"] == "lr-sweep-1" and "dvc.experiment_baseline" not in tags
