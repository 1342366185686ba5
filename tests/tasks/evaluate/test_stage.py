"""The evaluate stage end to end on tiny random-weight models: outputs, metrics schema, MLflow run."""

import json

import mlflow
import pytest

from tasks.evaluate.stage import EvaluateError, condition_table, evaluate, log_to_mlflow
from tasks.params import EvaluateParams, load_params


def stage_params(tmp_path, model_dir, corpus, **changes):
    params = load_params()
    evaluate_section = EvaluateParams.model_validate({
        **params.evaluate.model_dump(), "model": str(model_dir), "out": str(tmp_path / "out"),
        "plots": str(tmp_path / "plots"), "train_run": str(tmp_path / "train_run.json"),
        "suites": {"embedded": {"data": str(corpus), "max_new_tokens": 4}}, "batch_size": 4,
        "forgetting": {"max_new_tokens": 4}, **changes,
    })
    return params.model_copy(update={"evaluate": evaluate_section})


def test_stage_outputs_and_metrics(tmp_path, trained_dir, embedded_corpus):
    params = stage_params(tmp_path, trained_dir, embedded_corpus)
    evaluation = evaluate(params)
    metrics = evaluation.metrics
    embedded = metrics["suites"]["embedded"]
    assert evaluation.unanswered["embedded"] == [
        f"n2/category: missing audio: {embedded_corpus.parent / 'audio' / 'n2.wav'}"]
    assert set(embedded["conditions"]) == {"untrained", "text_only", "mismatched", "trained"}
    assert embedded["version"] == "2" and embedded["chance"]["gender"] == 50.0
    assert embedded["conditions"]["trained"]["missing_audio"] == 1  # n2 (its category item)
    assert "accuracy" in embedded["trained_minus_mismatched"]
    assert metrics["primary"] == {"suite": "embedded", "version": "2", "metric": "accuracy",
                                  "value": embedded["conditions"]["trained"]["accuracy"]}
    assert metrics["forgetting"]["lora"] is False and metrics["forgetting"]["identical"] is True
    records = [json.loads(line) for line in (tmp_path / "out" / "embedded.jsonl").read_text().splitlines()]
    assert {r["condition"] for r in records} == set(embedded["conditions"])
    assert all({"prompt", "output", "prediction", "score", "provenance"} <= set(r) for r in records)
    assert (tmp_path / "out" / "results" / "embedded-trained.json").is_file()
    assert (tmp_path / "plots" / "embedded" / "trained.csv").read_text().startswith("category,accuracy\n")
    table = condition_table(metrics, "embedded")
    assert table[-1]["category"] == "all" and {"trained-mismatched", "chance", "untrained"} <= set(table[-1])

    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking)
    experiment = mlflow.create_experiment("destaflow-test", artifact_location=str(tmp_path / "artifacts"))
    with mlflow.start_run(experiment_id=experiment) as train_run:
        pass
    (tmp_path / "train_run.json").write_text(json.dumps(
        {"mlflow_run_id": train_run.info.run_id, "mlflow_experiment": "destaflow-test", "tracking_uri": tracking}))
    metrics_path = tmp_path / "evaluate.json"
    metrics_path.write_text(json.dumps(metrics))
    run_id = log_to_mlflow(params, metrics, str(metrics_path))
    run = mlflow.get_run(run_id)
    assert run.data.tags["mlflow.parentRunId"] == train_run.info.run_id
    assert run.data.metrics["suites.embedded.conditions.trained.accuracy"] == embedded["conditions"]["trained"]["accuracy"]
    assert mlflow.get_run(train_run.info.run_id).data.tags["destaflow.evaluate_run_id"] == run_id
    assert json.loads((tmp_path / "out" / "run.json").read_text()) == {"mlflow_run_id": run_id}
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run_id)}
    assert {"evaluate", "plots", "evaluate.json"} <= artifacts


def test_stage_without_a_trained_model(tmp_path, embedded_corpus):
    with pytest.raises(EvaluateError, match="run the train stage"):
        evaluate(stage_params(tmp_path, tmp_path / "nothing", embedded_corpus))


def test_params_refuse_a_suite_without_data():
    with pytest.raises(ValueError, match="suites.mmau.data"):
        EvaluateParams.model_validate({**load_params().evaluate.model_dump(), "suites": {"mmau": {}}})


@pytest.mark.parametrize("change, message", [
    ({"conditions": ["untrained"]}, "must include trained"),
    ({"primary": "mmau"}, "primary 'mmau' must be one of the suites run"),
    ({"suites": {"nope": {"data": "x"}}}, "suites.nope: not a registered suite"),
    ({"long_audio": "all"}, "long_audio"),
    ({"judge": {"endpoint": "localhost:8000"}}, "http"),
])
def test_params_refuse_contradictions(change, message):
    with pytest.raises(ValueError, match=message):
        EvaluateParams.model_validate({**load_params().evaluate.model_dump(), **change})


def test_mlflow_run_without_a_tracked_training_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    params = load_params()
    section = EvaluateParams.model_validate({**params.evaluate.model_dump(), "out": str(tmp_path / "out"),
                                             "plots": str(tmp_path / "plots"), "train_run": str(tmp_path / "run.json")})
    params = params.model_copy(update={"evaluate": section})
    (tmp_path / "out").mkdir()
    (tmp_path / "run.json").write_text(json.dumps({"mlflow_run_id": None, "mlflow_experiment": "x", "tracking_uri": None}))
    (tmp_path / "metrics.json").write_text("{}")
    run_id = log_to_mlflow(params, {"primary": {"value": 1.0}}, str(tmp_path / "metrics.json"))
    run = mlflow.get_run(run_id)
    assert "mlflow.parentRunId" not in run.data.tags and run.data.params["evaluate.batch_size"] == "8"
    assert run.data.metrics["primary.value"] == 1.0
    # A local store keeps its artifacts beside its database, not in ./mlruns of the working folder.
    assert run.info.artifact_uri.startswith((tmp_path / "artifacts").as_uri())
    assert (tmp_path / "artifacts").is_dir()
