"""The pipeline flow: `dvc repro` (only what changed), then `dvc push` to the stack's S3 remote.

    python -m flows.pipeline                      # every stage, then push
    python -m flows.pipeline train evaluate       # those stages (and whatever upstream is stale)
    python -m flows.pipeline --no-push

prefect.yaml deploys it nightly and per stage. Each stage's own flow (`python -m flows.<stage>`, the cmd
in dvc.yaml) reports to the same Prefect server as its own flow run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from prefect import flow, task

from flows import REPO_ROOT, use_stack
from tasks.pipeline import PipelineError, configure_remote, push, repro


@task(name="dvc-remote")
def remote_task(project: str) -> str | None:
    """The stack's bucket as the default remote, when the stack's variables are set."""
    bucket, endpoint = os.environ.get("DESTAFLOW_BUCKET"), os.environ.get("AWS_ENDPOINT_URL")
    if not (bucket and endpoint):
        return None
    return configure_remote(Path(project), bucket, endpoint)


@task(name="dvc-repro")
def repro_task(project: str, targets: list[str], force: bool) -> None:
    repro(Path(project), targets, force)


# Network-facing: a blip of the S3 server is retried; a server that stays down fails the run clearly.
@task(name="dvc-push", retries=2, retry_delay_seconds=10)
def push_task(project: str, jobs: int | None) -> None:
    push(Path(project), jobs)


@flow(name="pipeline")
def pipeline(targets: list[str] | None = None, push_outputs: bool = True, force: bool = False,
             project: str = str(REPO_ROOT), jobs: int | None = None, repro_stages: bool = True) -> dict:
    use_stack()
    remote = remote_task(project)
    if repro_stages:
        repro_task(project, targets or [], force)
    pushed = bool(push_outputs and remote)
    if pushed:
        push_task(project, jobs)
    return {"targets": targets or "all", "remote": remote, "pushed": pushed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="dvc repro, then dvc push to the stack's S3 remote.")
    parser.add_argument("targets", nargs="*", help="stages (default: all)")
    parser.add_argument("--no-push", action="store_true")
    parser.add_argument("--force", action="store_true", help="rerun the stages even if nothing changed")
    parser.add_argument("--project", default=str(REPO_ROOT))
    parser.add_argument("--remote-only", action="store_true",
                        help="only point DVC's default remote at the stack's bucket (then `dvc pull` in a clone)")
    args = parser.parse_args(argv)
    try:
        if args.remote_only:
            use_stack()
            print(f"DVC remote: {remote_task.fn(args.project) or 'none (no DESTAFLOW_BUCKET / AWS_ENDPOINT_URL)'}")
            return 0
        pipeline(args.targets, push_outputs=not args.no_push, force=args.force, project=args.project)
    except PipelineError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
