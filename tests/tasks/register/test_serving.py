"""The champion answers: through mlflow.pyfunc.load_model and through `mlflow models serve` (HTTP)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from tasks.params import REPO_ROOT, load_params
from tasks.register.registry import register
from tasks.servers import Server, ServerSpec, free_port
from tests.tasks.register.helpers import QUESTION, SPOKEN, Workspace, evaluation

pytestmark = pytest.mark.slow
CHAMPION_URI = "models:/destaflow-smol@champion"


@pytest.fixture(scope="module")
def champion(mlflow_server, model_dirs, tmp_path_factory):
    """destaflow-smol with a freshly registered champion; its workspace (data root with a spoken clip)."""
    import mlflow

    patch = pytest.MonkeyPatch()
    for key, value in mlflow_server.env().items():
        patch.setenv(key, value)
    mlflow.set_tracking_uri(mlflow_server.url)
    workspace = Workspace(tmp_path_factory.mktemp("serving"), model_dirs[0])
    workspace.new_training_run(evaluation(0.99, version="embedded-serving"))
    registration = register(load_params(workspace.params))
    assert registration.champion_version == registration.version
    patch.setenv("DESTAFLOW_AUDIO_ROOT", str(workspace.audio_root))
    yield workspace
    patch.undo()


def test_load_model_answers_about_a_clip(champion):
    import mlflow

    model = mlflow.pyfunc.load_model(CHAMPION_URI)
    answers = model.predict(pd.DataFrame([{"audio": champion.audio, "question": QUESTION}]),
                            params={"max_new_tokens": 12})
    assert list(answers.columns) == ["answer", "transcript"]
    assert answers["answer"][0].strip()
    # No transcript was sent: the frozen Whisper wrote one, and it heard the words.
    assert "good morning" in answers["transcript"][0].lower()
    with pytest.raises(MlflowException, match="outside the data root"):
        model.predict(pd.DataFrame([{"audio": "../../../etc/passwd", "question": QUESTION}]))


@pytest.fixture(scope="module")
def served(champion, mlflow_server, tmp_path_factory):
    port = free_port()
    env = {**mlflow_server.env(), "DESTAFLOW_AUDIO_ROOT": str(champion.audio_root),
           "DESTAFLOW_MODELS_DIR": str(REPO_ROOT / "models"), "MLFLOW_DISABLE_TELEMETRY": "true",
           # The scoring server is started as `uvicorn` from PATH: the venv's, as `make` sets it.
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", CHAMPION_URI,
               "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    spec = ServerSpec(name="serve", command=command, url=f"http://127.0.0.1:{port}", health_path="/ping",
                      state_dir=tmp_path_factory.mktemp("serve"), env=env, startup_timeout_s=300)
    with Server(spec):
        yield spec.url


def invoke(url: str, records: list[dict]) -> httpx.Response:
    return httpx.post(f"{url}/invocations", json={"dataframe_records": records, "params": {"max_new_tokens": 12}},
                      timeout=300)


def test_served_champion_answers_a_path_and_base64(served, champion):
    by_path = invoke(served, [{"audio": champion.audio, "question": QUESTION}])
    assert by_path.status_code == 200, by_path.text
    (answer,) = by_path.json()["predictions"]
    assert answer["answer"].strip() and "good morning" in answer["transcript"].lower()
    encoded = base64.b64encode((champion.audio_root / champion.audio).read_bytes()).decode()
    by_bytes = invoke(served, [{"audio_base64": encoded, "question": QUESTION, "transcript": SPOKEN}])
    assert by_bytes.status_code == 200, by_bytes.text
    assert by_bytes.json()["predictions"][0]["transcript"] == SPOKEN


def test_bad_requests_get_400_with_the_reason(served, champion, tmp_path):
    outside = tmp_path / "secret.wav"
    outside.write_bytes((champion.audio_root / champion.audio).read_bytes())
    os.symlink(outside, champion.audio_root / "link.wav")  # inside the root, pointing out of it
    cases = [
        ({"audio": "../../../../etc/passwd", "question": QUESTION}, "outside the data root"),
        ({"audio": "link.wav", "question": QUESTION}, "outside the data root"),
        ({"audio": "audio/missing.wav", "question": QUESTION}, "no such file"),
        ({"audio_base64": "not base64!", "question": QUESTION}, "not valid base64"),
        ({"audio_base64": base64.b64encode(b"plain text").decode(), "question": QUESTION}, "not a readable audio"),
        ({"audio": champion.audio, "question": "  "}, "non-empty string"),
        ({"question": QUESTION}, "exactly one of"),
    ]
    for record, reason in cases:
        response = invoke(served, [record])
        assert response.status_code == 400, (record, response.text)
        assert reason in response.json()["message"], (record, response.text)
