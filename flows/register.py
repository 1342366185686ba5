"""Register stage (`python -m flows.register`): log the trained model to MLflow, register a version of
`destaflow-<preset>`, set `challenger`, and move `champion` when the gate passes.

`python -m flows.register rollback` moves `champion` back to the version it replaced.
"""

from __future__ import annotations

import argparse
import sys

from prefect import flow, task

from flows import publish_stage, run_stage, use_stack
from tasks.params import load_params
from tasks.stage_params import load_stage_params
from tasks.register.gate import RegisterError
from tasks.register.registry import Registration, register, rollback

# What this stage reads of params.yaml (its DVC params derive from it; see tasks/stage_params.py).
# The system turn the model was trained with is stored with the served model.
READS = ("preset", "registry", "generate.system_prompt")


def model_version_url(registration: Registration) -> str:
    import mlflow

    return f"{mlflow.get_tracking_uri()}/#/models/{registration.model_name}/versions/{registration.version}"


def summary_markdown(registration: Registration) -> str:
    decision = "promoted to champion" if registration.promoted else "not promoted"
    lines = [
        "## register", "",
        f"[{registration.model_name} v{registration.version}]({model_version_url(registration)}): **{decision}**"
        + (" (already registered; nothing new)" if registration.reused else ""), "",
        "| | |", "|---|---|",
        f"| champion | v{registration.champion_version} |", f"| challenger | v{registration.challenger_version} |",
        f"| primary | {registration.primary['suite']} {registration.primary['version']} "
        f"{registration.primary['condition']}/{registration.primary['metric']} = {registration.primary['value']:.4g} |",
        f"| MLflow run | {registration.run_id} |",
        *(f"| reason | {reason} |" for reason in registration.reasons),
    ]  # fmt: skip
    return "\n".join(lines)


# Network-facing: the tracking server and its S3 artifact store may blip; a rerun is idempotent (a version
# already registered from these weights and this evaluation is reused).
@task(name="register-version", retries=2, retry_delay_seconds=5)
def register_task(params_path: str) -> Registration:
    params = load_stage_params(params_path, "register", READS)
    registration = register(params)
    params.require_all_read()
    return registration


@flow(name="register")
def register_flow(params_path: str = "params.yaml", metrics_path: str = "metrics/register.json") -> dict:
    use_stack()
    registration = register_task(params_path)
    publish_stage(registration.metrics(), metrics_path, summary_markdown(registration), "register-summary",
                  "model registry decision")
    return registration.metrics()


@flow(name="rollback")
def rollback_flow(params_path: str = "params.yaml") -> tuple[str, str]:
    use_stack()
    name = load_params(params_path).registered_model_name
    demoted, restored = rollback(name)
    print(f"{name}: champion moved back from v{demoted} to v{restored}")
    return demoted, restored


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["rollback"]:
        parser = argparse.ArgumentParser(prog="python -m flows.register rollback",
                                         description="Move champion back to the version it replaced.")
        parser.add_argument("--params", default="params.yaml")
        args = parser.parse_args(argv[1:])
        try:
            rollback_flow(args.params)
        except RegisterError as error:
            print(error, file=sys.stderr)
            return 1
        return 0
    return run_stage(register_flow, "Register the trained model and run the champion gate.", argv,
                     expected_errors=(RegisterError,))


if __name__ == "__main__":
    sys.exit(main())
