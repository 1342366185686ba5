"""Train stage (`python -m flows.train`): the connector (and LoRA) learns from the validated rows.

Checks the rows (bad ones skipped and listed, or the stage stops naming them), trains with transformers'
Trainer in this process or under torchrun (train.processes > 1), measures the valid loss of the four
conditions by kind, logs it into the run's MLflow record, writes metrics/train.json and the summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from prefect import flow, task

from flows import publish_stage, run_stage
from tasks.gpu import gpu_slot
from tasks.params import Params
from tasks.stage_params import load_stage_params
from tasks.train.data import KINDS, BadRowError
from tasks.train.launch import launch_training
from tasks.train.stage import check_rows, evaluate_conditions
from tasks.train.tracking import log_results

# What this stage reads of params.yaml (its DVC params derive from it; see tasks/stage_params.py).
READS = ("preset", "model", "train")


@task(name="check-rows")
def check_rows_task(params: Params) -> int:
    return len(check_rows(params))


@task(name="train-connector")
def train_task(params: Params, params_path: str) -> dict:
    # On a GPU host the run waits for free slots of the global `gpu` limit (one per GPU it uses).
    with gpu_slot(slots=params.train.processes):
        return launch_training(params, params_path, result_path=f"{params.train.checkpoint_dir}/result.json")


@task(name="valid-loss-by-condition")
def conditions_task(params: Params) -> dict:
    return evaluate_conditions(params, params.train.out)


def summary_markdown(metrics: dict) -> str:
    groups = ("all", *KINDS)
    lines = ["## train", "", "valid loss (mean next-token NLL of the responses, same valid rows)", "",
             "| condition | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    for name, losses in metrics["valid_loss"].items():
        lines.append(f"| {name} | " + " | ".join("-" if losses[g] is None else f"{losses[g]:.4f}" for g in groups) + " |")
    spread = metrics["audio_spread"]
    lines += ["", f"audio vectors' spread over the valid clips (mean |A - mean A| / |A|; near 0: one soft prompt for "
              f"every clip): untrained {spread['untrained']:.4f}, trained {spread['trained']:.4f}"]
    lines += ["", "| metric | value |", "|---|---|"]
    for key in ("train_rows", "valid_rows", "bad_rows", "steps", "train_seconds", "samples_per_s", "tokens_per_s"):
        value = metrics[key]
        lines.append(f"| {key} | {value:.2f} |" if isinstance(value, float) else f"| {key} | {value} |")
    return "\n".join(lines)


@flow(name="train")
def train(params_path: str = "params.yaml", metrics_path: str = "metrics/train.json") -> dict:
    params = load_stage_params(params_path, "train", READS)
    check_rows_task(params)
    metrics = train_task(params, params_path)
    metrics["valid_loss"], metrics["audio_spread"] = conditions_task(params)
    _log_to_run(params, metrics)
    params.require_all_read()
    publish_stage(metrics, metrics_path, summary_markdown(metrics), "train-summary", "alignment training")
    return metrics


def _log_to_run(params: Params, metrics: dict) -> None:
    run_id = json.loads(Path(params.train.run_info).read_text()).get("mlflow_run_id")
    if run_id:
        flat = {f"valid_loss.{c}.{k}": v for c, losses in metrics["valid_loss"].items() for k, v in losses.items()}
        log_results(params, run_id, {**flat, "samples_per_s": metrics["samples_per_s"],
                                     "tokens_per_s": metrics["tokens_per_s"],
                                     **{f"audio_spread.{k}": v for k, v in metrics["audio_spread"].items()}})


def main(argv: list[str] | None = None) -> int:
    return run_stage(train, "Train the audio connector on the validated rows.", argv, expected_errors=(BadRowError,))


if __name__ == "__main__":
    sys.exit(main())
