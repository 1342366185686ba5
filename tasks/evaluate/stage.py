"""The evaluate stage: every configured suite on the trained model (the embedded suite under the four
conditions), the forgetting check, and the stage's outputs:

    <out>/<suite>.jsonl                      per item and condition: prompt, output, prediction, score, provenance
    <out>/results/<suite>-<condition>.json   the benchmark's official results format
    <out>/forgetting.jsonl                   the forgetting check's answers
    <out>/run.json                           {"mlflow_run_id"} of the evaluation run
    metrics/evaluate.json                    DVC metrics (schema in INTERFACES.md)
    <plots>/<suite>/<condition>.csv          per-category accuracy, DVC plots
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.modeling_desta25 import DeSTA25Model, locate_base_model
from tasks.evaluate.forgetting import check_forgetting
from tasks.evaluate.judge import make_judge
from tasks.evaluate.registry import Suite, load_suite
from tasks.evaluate.run import ConditionResult, RunSettings, difference, run_suite, suite_conditions
from tasks.params import Params
from tasks.train.tracking import flat_settings, tracking_uri, use_experiment


class EvaluateError(RuntimeError):
    """The stage cannot run (no trained model, no training run); the message says what to run first."""


def suite_of(name: str, params: Params) -> Suite:
    overrides = params.evaluate.suites[name]
    decoding = {"max_new_tokens": overrides.max_new_tokens} if overrides.max_new_tokens else None
    return load_suite(name, data=overrides.data, audio_root=overrides.audio_root, decoding=decoding)


def settings_of(params: Params) -> RunSettings:
    ev = params.evaluate
    return RunSettings(batch_size=ev.batch_size, long_audio=ev.long_audio, vad=ev.vad, seed=ev.seed,
                       max_items=ev.max_items)


def load_model(params: Params) -> DeSTA25Model:
    directory = Path(params.evaluate.model)
    if not (directory / "config.json").is_file():
        raise EvaluateError(f"{directory}: no trained model (DeSTA25Model.save_pretrained); run the train stage")
    return DeSTA25Model.from_pretrained(directory)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with open(partial, "w") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    partial.replace(path)


def category_table(metrics: dict) -> dict[str, dict]:
    """The suite's first per-category table (by_attribute, by_task, ...), for plots."""
    return next((value for key, value in metrics.items() if key.startswith("by_") and isinstance(value, dict)), {})


def write_plots(directory: Path, suite: str, results: dict[str, ConditionResult]) -> None:
    for condition, result in results.items():
        rows = [{"category": name, "accuracy": row["accuracy"]}
                for name, row in category_table(result.metrics).items() if "accuracy" in row]
        if not rows:
            continue
        path = directory / suite / f"{condition}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["category", "accuracy"])
            writer.writeheader()
            writer.writerows(rows)


def suite_metrics(suite: Suite, results: dict[str, ConditionResult]) -> dict[str, Any]:
    conditions = {name: result.metrics for name, result in results.items()}
    entry: dict[str, Any] = {"version": suite.version, "conditions": conditions,
                             "chance": chance_levels(results["trained"].metrics)}
    if "mismatched" in results:
        entry["trained_minus_mismatched"] = difference(conditions["trained"], conditions["mismatched"], suite.metrics)
    if "backbone_text" in results:
        entry |= suite.adapter_instance.compare(conditions["trained"], conditions["backbone_text"])
    return entry


def chance_levels(metrics: dict) -> dict[str, float]:
    chance = {"all": metrics["chance"]} if "chance" in metrics else {}
    return chance | {name: row["chance"] for name, row in category_table(metrics).items() if "chance" in row}


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    # suite -> "<item id>: <why>" for items the trained model could not be asked (missing or unusable audio).
    unanswered: dict[str, list[str]]


def evaluate(params: Params) -> Evaluation:
    ev = params.evaluate
    out = Path(ev.out)
    model = load_model(params)
    settings = settings_of(params)
    llm_path, _ = locate_base_model(model.config.llm, model.config.llm_revision)
    judge = make_judge(ev.judge.endpoint, ev.judge.model, llm_path)
    metrics: dict[str, Any] = {"suites": {}}
    unanswered = {}
    for name in ev.suites:
        suite = suite_of(name, params)
        suite.adapter_instance.judge = judge
        results = run_suite(suite, model, suite_conditions(suite, ev.conditions), settings)
        write_jsonl(out / f"{name}.jsonl", [r for result in results.values() for r in result.records])
        for condition, result in results.items():
            official = suite.adapter_instance.results(result.items, result.records)
            path = out / "results" / f"{name}-{condition}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(official, indent=2, ensure_ascii=False, default=str) + "\n")
        write_plots(Path(ev.plots), name, results)
        metrics["suites"][name] = suite_metrics(suite, results)
        unanswered[name] = results["trained"].errors
    primary = load_suite(ev.primary)
    value = metrics["suites"][ev.primary]["conditions"]["trained"][primary.primary_metric]
    metrics["primary"] = {"suite": ev.primary, "version": primary.version, "metric": primary.primary_metric,
                          "value": value}
    forgetting = check_forgetting(model, ev.forgetting.max_new_tokens, ev.forgetting.max_if_rate_drop)
    write_jsonl(out / "forgetting.jsonl", forgetting.rows)
    metrics["forgetting"] = forgetting.metrics()
    metrics["settings"] = {"batch_size": ev.batch_size, "long_audio": ev.long_audio, "vad": ev.vad,
                           "judge": judge.name, "model": ev.model}
    return Evaluation(metrics, unanswered)


# ---------------------------------------------------------------------------------------------- tracking
def flat_numbers(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Nested metrics -> {"suites.embedded.conditions.trained.accuracy": 41.2, ...} with MLflow-safe keys."""
    flat = {}
    for key, value in metrics.items():
        name = re.sub(r"[^\w\-. /]", "_", f"{prefix}{key}")
        if isinstance(value, dict):
            flat |= flat_numbers(value, f"{name}.")
        elif isinstance(value, (int, float)):  # booleans count as 0/1
            flat[name] = float(value)
    return flat


def log_to_mlflow(params: Params, metrics: dict, metrics_path: str) -> str:
    """An MLflow run in the training run's experiment, a child of it; returns its id (also in <out>/run.json)."""
    import mlflow

    ev = params.evaluate
    run_file = Path(ev.train_run)
    if not run_file.is_file():
        raise EvaluateError(f"{run_file}: no training run record; run the train stage (it writes this file)")
    train = json.loads(run_file.read_text())
    train_run_id = train.get("mlflow_run_id")
    # A training run without tracking records no URI: the same default store the train stage would use.
    use_experiment(train.get("tracking_uri") or tracking_uri(params),
                   train.get("mlflow_experiment") or params.train.experiment)
    tags = {"destaflow.stage": "evaluate", "destaflow.train_run_id": str(train_run_id)}
    if train_run_id:
        tags["mlflow.parentRunId"] = train_run_id
    with mlflow.start_run(run_name="evaluate", tags=tags) as run:
        mlflow.log_params(flat_settings(params, ("model", "evaluate")))
        mlflow.log_metrics(flat_numbers(metrics))
        mlflow.log_artifact(metrics_path)
        mlflow.log_artifacts(ev.out, artifact_path="evaluate")
        if Path(ev.plots).is_dir():
            mlflow.log_artifacts(ev.plots, artifact_path="plots")
    if train_run_id:
        mlflow.MlflowClient().set_tag(train_run_id, "destaflow.evaluate_run_id", run.info.run_id)
    Path(ev.out, "run.json").write_text(json.dumps({"mlflow_run_id": run.info.run_id}) + "\n")
    return run.info.run_id


# ----------------------------------------------------------------------------------------------- summary
def condition_table(metrics: dict, suite: str) -> list[dict]:
    """One row per category: each condition's accuracy, trained - mismatched, chance (the Prefect table)."""
    entry = metrics["suites"][suite]
    conditions = entry["conditions"]
    names = list(category_table(conditions["trained"]))
    rows = []
    for name in [*names, "all"]:
        row = {"category": name}
        for condition, values in conditions.items():
            table = category_table(values)
            row[condition] = values.get("accuracy") if name == "all" else table.get(name, {}).get("accuracy")
        delta = entry.get("trained_minus_mismatched", {})
        row["trained-mismatched"] = delta.get("accuracy") if name == "all" else \
            next((v for k, v in delta.items() if k.endswith(f".{name}")), None)
        row["chance"] = entry["chance"].get(name if name != "all" else "all")
        rows.append(row)
    return rows


def markdown_table(rows: list[dict], title: str) -> str:
    columns = list(rows[0]) if rows else []
    shown = [[f"{v:.2f}" if isinstance(v, float) else ("-" if v is None else str(v)) for v in row.values()]
             for row in rows]
    lines = [f"## {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in shown])
