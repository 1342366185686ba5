"""The base_models flow end to end: it records what params.yaml names and publishes its summary."""

from __future__ import annotations

import json

import pytest
import yaml
from prefect.artifacts import Artifact

from flows.base_models import base_models
from tasks.params import REPO_ROOT

pytestmark = pytest.mark.slow


def test_flow_writes_the_record_metrics_and_summary(prefect_server, tmp_path):
    data = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    data["model"] = {"llm": "meta-llama/Llama-3.1-8B-Instruct", "encoder": "openai/whisper-large-v3"}
    data["base_models"]["out"] = str(tmp_path / "base_models.json")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(data))
    with prefect_server.settings():
        metrics = base_models(str(tmp_path / "params.yaml"), str(tmp_path / "metrics.json"))
        artifact = Artifact.get("base-models-summary")
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics and metrics["base_models"] == 2
    record = json.loads((tmp_path / "base_models.json").read_text())
    assert record["llm"] == {"name": "meta-llama/Llama-3.1-8B-Instruct", "revision": "main"}
    assert artifact is not None and "| encoder | openai/whisper-large-v3 | main |" in artifact.data
