"""Target gate (`python -m flows.validate_generated`): GX suite over the generated training rows.

Writes the clean rows (only when the dataset passes), the quarantine JSONL, GX data docs,
metrics/validate_generated.json and a Prefect markdown artifact; a dataset-level failure exits non-zero.
The metrics carry `grounding` too: how many clean answers to attribute questions state the described value.
"""

from __future__ import annotations

import sys

from prefect import flow, task

from flows import publish_stage, run_stage
from tasks.generate.grounding import grounding_report, summary_markdown
from tasks.generate.prompts import load_prompt_pool
from tasks.params import Params
from tasks.rows import read_rows
from tasks.stage_params import load_stage_params
from tasks.validate.checks import GxRun
from tasks.validate.generated import allowed_generators, run_generated_gate
from tasks.validate.outcome import DataQualityError, Outcome


# What this stage reads of params.yaml (its DVC params derive from it; see tasks/stage_params.py).
# Who may have written the targets: the backbone, or a generator the settings allow (the gate's generator check).
READS = ("validate_generated", "model.llm", "model.audio_locator", "generate.prompt_pool",
         "generate.allow_foreign_generator", "generate.generator")


@task(name="generated-rows-gate")
def generated_gate(params: Params) -> Outcome:
    with GxRun() as gx_run:
        # The targets must come from the backbone itself (DeSTA self-generation) unless params override it.
        return run_generated_gate(params.validate_generated, generators=allowed_generators(params),
                                  prompt_pool=load_prompt_pool(params.generate.prompt_pool),
                                  audio_locator=params.model.audio_locator, gx_run=gx_run)


@flow(name="validate_generated")
def validate_generated(params_path: str = "params.yaml",
                       metrics_path: str = "metrics/validate_generated.json") -> dict:
    params = load_stage_params(params_path, "validate_generated", READS)
    outcome = generated_gate(params)
    metrics, summary = outcome.metrics(), outcome.summary_markdown()
    if outcome.passed:  # the training rows: what the connector will learn from
        grounding = grounding_report(read_rows(params.validate_generated.clean),
                                     load_prompt_pool(params.generate.prompt_pool))
        metrics["grounding"] = grounding
        summary += "\n\n" + summary_markdown(grounding)
    params.require_all_read()
    publish_stage(metrics, metrics_path, summary, "validate-generated", f"{outcome.gate}: data-quality gate summary")
    outcome.raise_if_failed()
    return metrics


def main(argv: list[str] | None = None) -> int:
    return run_stage(validate_generated, "Validate the generated training rows.", argv,
                     expected_errors=(DataQualityError,),
                     outputs=lambda params: [params.validate_generated.clean, params.validate_generated.quarantine,
                                             params.validate_generated.report])


if __name__ == "__main__":
    sys.exit(main())
