"""Evaluate stage (`python -m flows.evaluate`) and the scorer of existing predictions
(`python -m flows.evaluate score --suite mmau --predictions FILE`).

The stage runs tasks.evaluate.stage (suites x conditions, the forgetting check), writes metrics/evaluate.json,
a markdown summary and one Prefect table artifact per suite, and logs an MLflow run linked to the training run.
`score` reads a predictions file in the suite's official results format and prints the suite's own tables.
"""

from __future__ import annotations

import argparse
import sys

from prefect import flow, task

from flows import publish_stage, run_stage
from tasks.evaluate.items import BenchmarkFormatError
from tasks.evaluate.judge import JudgeError, make_judge
from tasks.evaluate.registry import SuiteError, available_suites, load_suite
from tasks.evaluate.stage import (EvaluateError, Evaluation, condition_table, evaluate, log_to_mlflow,
                                  markdown_table)
from tasks.params import ParamsError, load_params
from tasks.stage_params import load_stage_params

# What this stage reads of params.yaml (its DVC params derive from it; see tasks/stage_params.py).
# The MLflow experiment comes from train when the training run recorded none.
READS = ("preset", "model", "evaluate", "train.experiment")


@task(name="evaluate-suites")
def evaluate_task(params) -> Evaluation:
    return evaluate(params)


@task(name="evaluate-mlflow")
def mlflow_task(params, metrics: dict, metrics_path: str) -> str:
    return log_to_mlflow(params, metrics, metrics_path)


def summary_markdown(metrics: dict, unanswered: dict[str, list[str]]) -> str:
    parts = []
    for suite in metrics["suites"]:
        parts.append(markdown_table(condition_table(metrics, suite), f"evaluate: {suite} (accuracy %)"))
        if unanswered.get(suite):
            shown = "; ".join(unanswered[suite][:5]) + (" ..." if len(unanswered[suite]) > 5 else "")
            parts.append(f"{suite}: {len(unanswered[suite])} item(s) not answered, not scored "
                         f"(per-item records say why): {shown}")
    primary, forgetting = metrics["primary"], metrics["forgetting"]
    parts.append(f"primary: {primary['suite']} {primary['version']} {primary['metric']} = {primary['value']:.2f}")
    parts.append(f"forgetting: lora={forgetting['lora']} identical={forgetting['identical']} "
                 f"if_rate_delta={forgetting['if_rate_delta']} passed={forgetting['passed']}")
    return "\n\n".join(parts)


@flow(name="evaluate")
def evaluate_flow(params_path: str = "params.yaml", metrics_path: str = "metrics/evaluate.json") -> dict:
    from prefect.artifacts import create_table_artifact

    params = load_stage_params(params_path, "evaluate", READS)
    evaluation = evaluate_task(params)
    metrics = evaluation.metrics
    publish_stage(metrics, metrics_path, summary_markdown(metrics, evaluation.unanswered), "evaluate-summary",
                  "benchmark evaluation")
    for suite in metrics["suites"]:
        create_table_artifact(condition_table(metrics, suite), key=f"evaluate-{suite.replace('_', '-')}",
                              description=f"{suite}: accuracy per category and condition")
    metrics["mlflow_run_id"] = mlflow_task(params, metrics, metrics_path)
    return metrics


def score(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.evaluate score",
                                     description="Score a predictions file in a suite's official results format.")
    parser.add_argument("--suite", required=True, choices=available_suites())
    parser.add_argument("--predictions", required=True, help="local path or s3:// URL")
    parser.add_argument("--params", default="params.yaml", help="for the local judge's backbone")
    parser.add_argument("--judge-endpoint", default=None, help="OpenAI-compatible base URL (default: local backbone)")
    parser.add_argument("--judge-model", default=None)
    args = parser.parse_args(argv)
    try:
        adapter = load_suite(args.suite).adapter_instance
        if args.suite == "voicebench":
            from model.modeling_desta25 import locate_base_model

            model = load_params(args.params).model
            adapter.judge = make_judge(args.judge_endpoint, args.judge_model,
                                       locate_base_model(model.llm, model.llm_revision)[0])
        print(adapter.tables(adapter.summarize(adapter.read_results(args.predictions))))
    except (BenchmarkFormatError, SuiteError, JudgeError, ParamsError) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["score"]:
        return score(argv[1:])
    return run_stage(evaluate_flow, "Evaluate the trained model on the benchmark suites.", argv,
                     expected_errors=(EvaluateError, BenchmarkFormatError, SuiteError, JudgeError))


if __name__ == "__main__":
    sys.exit(main())
