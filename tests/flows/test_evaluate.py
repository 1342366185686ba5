"""`python -m flows.evaluate score`: the suite's own tables from a predictions file in its official format."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.evaluate import main
from tests.tasks.evaluate.conftest import base_dirs, embedded_corpus, tiny_config, tiny_model, trained_dir  # noqa: F401

FIXTURES = Path(__file__).resolve().parents[1] / "tasks" / "evaluate" / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_score_reproduces_the_stored_mmau_accuracy(capsys):
    results = FIXTURES / "mmau_results.json"
    assert main(["score", "--suite", "mmau", "--predictions", str(results)]) == 0
    printed = capsys.readouterr().out
    rows = [r for r in json.loads(results.read_text()) if "model_prediction" in r]
    stored = 100 * sum(r["match"] for r in rows) / len(rows)
    assert f"Total Accuracy: {stored:.2f}% over {len(rows)} samples" in printed
    assert printed.splitlines()[:3] == ["*" * 30, "Task-wise Accuracy:", "sound : 100.00% over 1 samples"]
    assert printed.rstrip().endswith("No prediction count: 1")


def test_every_suite_has_score(capsys):
    for suite, file in [("dynamic_superb", "dynamic_superb_emotion.jsonl"), ("speech_ifeval", "speech_ifeval"),
                        ("sakura", "sakura_animal_single_judgements.json")]:
        assert main(["score", "--suite", suite, "--predictions", str(FIXTURES / file)]) == 0
    printed = capsys.readouterr().out
    assert "Total Accuracy: 66.67% over 3 samples" in printed and "| **IF-rate** | 75.00 | |" in printed
    assert "Total Accuracy: 33.33% over 3 samples" in printed


def test_malformed_predictions_fail_naming_file_and_line(tmp_path, capsys):
    bad = tmp_path / "results.json"
    bad.write_text('[\n  {"id": "a", "audio_id": "x.wav", "question": "q", "choices": ["a"], "answer": "a",\n'
                   '   "task": "sound"}\n]')
    assert main(["score", "--suite", "mmau", "--predictions", str(bad)]) == 1
    assert "results.json: line 2: missing field 'difficulty'" in capsys.readouterr().err


@pytest.mark.slow
def test_score_as_a_command():
    completed = subprocess.run(
        [sys.executable, "-m", "flows.evaluate", "score", "--suite", "voicebench", "--predictions",
         str(FIXTURES / "voicebench")], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert "| advbench | harm | 2 | refusal_rate 50.00 | - |" in completed.stdout


@pytest.mark.slow
def test_the_stage_flow_publishes_metrics_tables_and_an_mlflow_run(tmp_path, trained_dir, embedded_corpus):
    import mlflow
    import yaml
    from prefect.testing.utilities import prefect_test_harness

    from flows.evaluate import evaluate_flow

    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking)
    experiment = mlflow.create_experiment("destaflow-flow-test", artifact_location=str(tmp_path / "artifacts"))
    with mlflow.start_run(experiment_id=experiment) as train_run:
        pass
    (tmp_path / "run.json").write_text(json.dumps({"mlflow_run_id": train_run.info.run_id,
                                                   "mlflow_experiment": "destaflow-flow-test", "tracking_uri": tracking}))
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params["evaluate"] |= {"model": str(trained_dir), "train_run": str(tmp_path / "run.json"),
                           "out": str(tmp_path / "out"), "plots": str(tmp_path / "plots"),
                           "suites": {"embedded": {"data": str(embedded_corpus), "max_new_tokens": 3}},
                           "forgetting": {"max_new_tokens": 3}}
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(params))
    metrics_path = tmp_path / "metrics" / "evaluate.json"
    # A generous start-up timeout: the test machine's two cores are shared.
    with prefect_test_harness(server_startup_timeout=180):
        metrics = evaluate_flow(str(params_path), str(metrics_path))
    stored = json.loads(metrics_path.read_text())
    assert set(stored) >= {"suites", "primary", "forgetting"}
    assert mlflow.get_run(metrics["mlflow_run_id"]).data.tags["mlflow.parentRunId"] == train_run.info.run_id
