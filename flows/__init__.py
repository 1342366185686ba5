"""Thin Prefect flows, one per DVC stage (`python -m flows.<stage>`): read params, call tasks, publish.

Importing this package points Prefect at the repo's ignored .work/ and turns its telemetry off, unless the
user chose otherwise; without PREFECT_API_URL, Prefect runs each flow against a temporary local API.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from tasks import reaper
from tasks.outputs import stage_outputs
from tasks.params import Params, ParamsError, load_params
from tasks.storage import DirectoryBusy, OutputWriteError, write_text

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFECT_HOME = Path(os.environ.setdefault("PREFECT_HOME", str(REPO_ROOT / ".work" / "prefect"))).expanduser()
# Prefect creates only the last folder of its home; in a fresh clone .work/ does not exist yet, and its
# temporary API server then cannot open its database ("Timed out ... ephemeral Prefect API server").
PREFECT_HOME.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The temporary API server needs more than Prefect's 20 s to start on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def use_stack() -> None:
    """Point this process's clients (MLflow, s3fs, dvc) at the local stack (`make up`): the variables of its
    env file, where the user has not set them already. Without the file (no stack) nothing changes."""
    from infra.stack import ENV_FILE, read_env_file

    if ENV_FILE.is_file():
        for key, value in read_env_file(ENV_FILE).items():
            os.environ.setdefault(key, value)


def publish_stage(metrics: dict, metrics_path: str, summary: str, artifact_key: str, description: str) -> None:
    """Write the stage's DVC metrics file, its Prefect markdown artifact, and print the summary."""
    # Imported here: Prefect is slow to import and the package is imported by flows' argument parsing too.
    from prefect.artifacts import create_markdown_artifact

    write_text(metrics_path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    create_markdown_artifact(summary, key=artifact_key, description=description)
    print(summary)


def run_stage(stage_flow, description: str, argv: list[str] | None = None,
              expected_errors: tuple[type[Exception], ...] = (),
              outputs: Callable[[Params], list[str]] = lambda params: []) -> int:
    """The command line of a stage flow: `--params`, `--metrics` (default metrics/<flow name>.json).

    `outputs` lists the stage's declared outputs (its dvc.yaml outs) from its params; with the metrics file
    they follow tasks.outputs' rule: all from the last successful run or absent, the previous ones set aside.
    An expected error (bad data, a refused setting, an output that cannot be written, a second run of the
    stage) ends the stage with its message and exit code 1 instead of a traceback.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--metrics", default=f"metrics/{stage_flow.name}.json")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)  # a bad setting fails here, before Prefect or any model starts
    except ParamsError as error:
        print(error, file=sys.stderr)
        return 2
    if argv is None:  # the stage's own process (`python -m flows.<stage>`): its children end with it
        reaper.watch()
    # The tasks' progress lines (logger "destaflow.*") reach the console through Prefect's root handler.
    logging.getLogger("destaflow").setLevel(logging.INFO)
    # SIGTERM (Prefect cancel, `kill`) unwinds like Ctrl-C, so `finally` blocks flush work and stop servers.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        with stage_outputs(stage_flow.name, [*outputs(params), args.metrics]):
            stage_flow(args.params, args.metrics)
    except (OutputWriteError, DirectoryBusy, *expected_errors) as error:
        print(error, file=sys.stderr)
        return 1
    return 0
