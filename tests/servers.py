"""Real servers for the tests, one of each per test session, each on free ports with its state in a temp dir.

Registered in tests/conftest.py, so any test can ask for them by name:

- `s3_server` -> infra.stack.S3Endpoint: SeaweedFS; `.url`, `.env()` (AWS_* variables), `.client()`,
  `.create_bucket(name)`. Sets nothing globally; `s3_env` is the same server with its AWS_* variables set
  for one test (what s3fs, tasks.storage and dvc read).
- `mlflow_server` -> infra.stack.MlflowEndpoint: MLflow tracking server, SQLite store, artifacts in the
  bucket `.bucket` of `s3_server` (`.artifact_root`); `.url` is the tracking URI, `.env()` its variables.
- `prefect_server` -> infra.stack.PrefectEndpoint: Prefect server (SQLite); `.api_url`, `.env()` for child
  processes, `with prefect_server.settings():` for flows run in the test's own process.

The servers are the ones `make up` starts (infra/stack.py), run by the same lifecycle (tasks/servers.py).
"""

from __future__ import annotations

import secrets

import pytest

from infra.stack import (MlflowEndpoint, PrefectEndpoint, S3Endpoint, free_port_pair, mlflow_spec, prefect_spec,
                         s3_spec)
from tasks.servers import Server, free_port

# Named in a port-conflict error: a free port was taken between choosing and binding it.
FREE_PORT = "the test fixture's free-port choice (run the tests again)"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    s3 = S3Endpoint(free_port_pair(), f"test-{secrets.token_hex(4)}", secrets.token_urlsafe(16))
    with Server(s3_spec(s3, tmp_path_factory.mktemp("s3-server"), FREE_PORT)):
        yield s3


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    return s3_server


@pytest.fixture(scope="session")
def mlflow_server(s3_server, tmp_path_factory):
    mlflow = MlflowEndpoint(free_port(), "mlflow-tests", s3_server)
    s3_server.create_bucket(mlflow.bucket)
    with Server(mlflow_spec(mlflow, tmp_path_factory.mktemp("mlflow-server"), FREE_PORT)):
        yield mlflow


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    prefect = PrefectEndpoint(free_port())
    with Server(prefect_spec(prefect, tmp_path_factory.mktemp("prefect-server"), FREE_PORT)):
        yield prefect
