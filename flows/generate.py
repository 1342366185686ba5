"""Generate stage: the backbone LLM writes its own training targets (`python -m flows.generate`).

Reads params.yaml, runs tasks.generate.stage (generation, then the self-consistency NLL), writes
metrics/generate.json and a markdown summary (Prefect artifact + stdout).
"""

from __future__ import annotations

import sys

from prefect import flow, task

from flows import publish_stage, run_stage
from tasks.generate.backends import GenerationFailed
from tasks.generate.stage import SelfGenerationError, generate_rows, self_consistency
from tasks.gpu import gpu_slot
from tasks.manifest import ManifestError
from tasks.params import Params
from tasks.stage_params import load_stage_params

# What this stage reads of params.yaml (its DVC params derive from it; see tasks/stage_params.py).
# Answers with refusal phrases are asked again, like the gate would quarantine them.
READS = ("model", "generate", "validate_generated.refusal_phrases")

SUMMARY_FIELDS = (
    ("rows", "rows"), ("rows generated / resumed", "generated_resumed"), ("response tokens", "tokens"),
    ("tokens/s (this run)", "tokens_per_s"), ("rows/s (this run)", "rows_per_s"), ("rows asked again", "rows_retried"),
    ("requests", "requests"), ("rows still flagged", "rows_flagged"),
    ("flagged by reason", "flags"), ("finish reasons", "finish_reasons"), ("self-consistency NLL", "nll_mean"),
    ("NLL rows / tokens", "nll_sample"), ("backend", "backend"), ("generator", "generator"),
    ("generator revision", "generator_revision"), ("foreign override", "foreign_override"),
)


@task(name="generate-rows")
def generate_rows_task(params: Params) -> dict:
    # A local vLLM server (no endpoints given) on a GPU host holds a slot of the global `gpu` limit.
    with gpu_slot(needed=None if not params.generate.endpoints and params.generate.backend == "vllm" else False):
        return generate_rows(params)


@task(name="self-consistency-nll")
def self_consistency_task(params: Params) -> dict:
    return self_consistency(params)


def summary_markdown(metrics: dict) -> str:
    shown = {
        **metrics,
        "generated_resumed": f"{metrics['rows_generated']} / {metrics['rows_resumed']}",
        "nll_sample": f"{metrics['nll_rows']} / {metrics['nll_tokens']}",
        "flags": ", ".join(f"{reason}: {count}" for reason, count in metrics["flags"].items()) or "none",
        "finish_reasons": ", ".join(f"{reason}: {count}" for reason, count in metrics["finish_reasons"].items()),
        "nll_mean": f"{metrics['nll_mean']:.4f}" if metrics["nll_mean"] is not None else "n/a",
    }
    lines = ["## generate", "", "| metric | value |", "|---|---|"]
    lines += [f"| {label} | {shown[key]} |" for label, key in SUMMARY_FIELDS]
    return "\n".join(lines)


@flow(name="generate")
def generate(params_path: str = "params.yaml", metrics_path: str = "metrics/generate.json") -> dict:
    params = load_stage_params(params_path, "generate", READS)
    metrics = generate_rows_task(params)
    metrics.update(self_consistency_task(params))
    params.require_all_read()
    publish_stage(metrics, metrics_path, summary_markdown(metrics), "generate-summary", "self-generated training targets")
    return metrics


def main(argv: list[str] | None = None) -> int:
    return run_stage(generate, "Generate self-generated training targets.", argv,
                     expected_errors=(SelfGenerationError, GenerationFailed, ManifestError),
                     outputs=lambda params: [params.generate.out])


if __name__ == "__main__":
    sys.exit(main())
