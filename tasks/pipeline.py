"""The whole pipeline as DVC runs it: `dvc repro` (what changed), then `dvc push` to the stack's S3 remote.

The remote lives in `.dvc/config.local` (git-ignored): `s3://$DESTAFLOW_BUCKET/dvc` at the stack's endpoint.
Credentials are never written to a DVC config: dvc reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the
environment (the stack's env file). S3 writes each object whole (a PUT or a completed multipart upload), and
DVC addresses objects by content hash, so a push killed midway leaves only complete objects; the next push
sends what is missing and `dvc status --cloud` reports it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections import deque
from pathlib import Path


log = logging.getLogger("destaflow.pipeline")

REMOTE = "stack"
REMOTE_PREFIX = "dvc"
LOG_TAIL = 30


class PipelineError(RuntimeError):
    """A DVC command failed; the message has its last output lines and what to do."""


def dvc_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "dvc"), *args]


def command_env() -> dict[str, str]:
    """The stages call `python`, `dvc` ...: this interpreter's environment comes first on PATH."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def run_dvc(args: list[str], project: Path, what: str, fix: str) -> None:
    """Run dvc, streaming its output to the log (Prefect shows it); raise PipelineError on failure."""
    tail: deque[str] = deque(maxlen=LOG_TAIL)
    with subprocess.Popen(dvc_command(*args), cwd=project, env=command_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as process:
        for line in process.stdout:
            tail.append(line.rstrip())
            log.info("%s", line.rstrip())
    if process.returncode != 0:
        lines = "\n".join(tail)
        raise PipelineError(f"`dvc {' '.join(args)}` ({what}) failed with exit code {process.returncode} in "
                            f"{project}; {fix}. Last output:\n{lines}")


def configure_remote(project: Path, bucket: str, endpoint_url: str) -> str:
    """Point the project's default DVC remote at the stack's bucket (in .dvc/config.local); the remote URL."""
    url = f"s3://{bucket}/{REMOTE_PREFIX}"
    fix = "check the stack (`make status`)"
    run_dvc(["remote", "add", "--local", "--force", "--default", REMOTE, url], project, "add the remote", fix)
    run_dvc(["remote", "modify", "--local", REMOTE, "endpointurl", endpoint_url], project, "set the endpoint", fix)
    return url


def repro(project: Path, targets: list[str] | None = None, force: bool = False) -> None:
    args = ["repro", *(["--force"] if force else []), *(targets or [])]
    run_dvc(args, project, "run the stages", "the failing stage's message is above; fix it and run again "
            "(finished stages are not rerun)")


def push(project: Path, jobs: int | None = None) -> None:
    args = ["push", *([f"--jobs={jobs}"] if jobs else [])]
    run_dvc(args, project, "upload the outputs to the S3 remote",
            "nothing incomplete is recorded as pushed: once the S3 server answers again (`make status`), "
            "`dvc push` sends what is missing and `dvc status --cloud` lists what the remote lacks")
