"""Test-wide settings: offline, one CPU thread, GPU tests skipped without CUDA, real-server fixtures."""

from __future__ import annotations

import os

for key, value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "VLLM_NO_USAGE_STATS": "1",
    "OMP_NUM_THREADS": "1",
}.items():
    os.environ.setdefault(key, value)

import pytest  # noqa: E402
import torch  # noqa: E402

# Real-server fixtures (s3_server, s3_env, mlflow_server, prefect_server), for every test directory.
pytest_plugins = ["tests.servers"]

# Two shared cores: one thread per process was 3-5x faster than two fighting (OFFLINE.md).
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA (run on a GPU host)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(autouse=True)
def _previous_outputs_in_tmp(tmp_path_factory, monkeypatch):
    """Stages run by tests set their previous outputs aside in a temporary folder, not the repo's .work/."""
    monkeypatch.setenv("DESTAFLOW_PREVIOUS_DIR", str(tmp_path_factory.mktemp("previous")))


@pytest.fixture(autouse=True)
def _no_stray_mlflow_store():
    """A test's MLflow records go to its own store: MLflow's fallback `./mlruns` lands in the user's tree."""
    stray = os.path.join(os.getcwd(), "mlruns")
    existed = os.path.exists(stray)
    yield
    assert existed or not os.path.exists(stray), f"this test left an MLflow file store in {stray}"
