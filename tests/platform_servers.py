"""Real servers for the platform tests, until tests/servers.py (h/stack) lands: SeaweedFS S3, an MLflow
tracking server (SQLite store, artifacts in an S3 bucket) and a Prefect server, each on free ports.

To be replaced by the shared session fixtures of the same names; the tests only use `.url` and `.env`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from infra.local_s3 import LocalS3

BUCKET = "destaflow-test"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    env: dict[str, str]
    process: subprocess.Popen | None = None
    extra: dict = field(default_factory=dict)


def start(command: list[str], env: dict[str, str], log: Path, health_url: str, timeout_s: float = 120) -> subprocess.Popen:
    with open(log, "ab") as handle:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(health_url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop(process)
    raise RuntimeError(f"{command[0]} not healthy after {timeout_s} s: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    with LocalS3(tmp_path_factory.mktemp("s3")) as s3:
        s3.create_bucket(BUCKET)
        env = {**s3.env(), "MLFLOW_S3_ENDPOINT_URL": s3.endpoint_url, "DESTAFLOW_BUCKET": BUCKET}
        yield Server(url=s3.endpoint_url, env=env, extra={"local_s3": s3, "bucket": BUCKET})


@pytest.fixture(scope="session")
def mlflow_server(s3_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    env = {**s3_server.env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}
    command = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{root}/mlflow.db",
               "--artifacts-destination", f"s3://{BUCKET}/mlflow", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]
    url = f"http://127.0.0.1:{port}"
    process = start(command, env, root / "mlflow.log", f"{url}/health")
    yield Server(url=url, env={**s3_server.env, "MLFLOW_TRACKING_URI": url}, process=process)
    stop(process)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("prefect")
    port = free_port()
    env = {"PREFECT_HOME": str(root), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{root}/prefect.db"}
    command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/api"
    process = start(command, env, root / "prefect.log", f"{url}/health")
    yield Server(url=url, env={"PREFECT_API_URL": url, "PREFECT_HOME": str(root)}, process=process)
    stop(process)
