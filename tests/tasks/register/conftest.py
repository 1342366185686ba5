from __future__ import annotations

import pytest

from tests.tasks.register.helpers import perturbed_copy, save_untrained_model


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory):
    """Two distinct sets of connector weights for the same base models (saved like the train stage's)."""
    root = tmp_path_factory.mktemp("models")
    first = save_untrained_model(root / "first")
    return [first, perturbed_copy(first, root / "second", scale=0.5)]


@pytest.fixture
def tracking(mlflow_server, monkeypatch):
    """This test's process talks to the real tracking server."""
    import mlflow

    for key, value in mlflow_server.env().items():
        monkeypatch.setenv(key, value)
    mlflow.set_tracking_uri(mlflow_server.url)
    return mlflow_server
