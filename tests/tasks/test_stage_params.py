"""Each stage's DVC params are exactly what its flow declares it reads, and the view a stage gets of the
settings refuses an undeclared key and reports a declared one it never read."""

from __future__ import annotations

import importlib
import json
import pickle

import pytest
import yaml

from tasks.base_models.prepare import prepare_stage
from tasks.params import REPO_ROOT, ParamsError, load_params
from tasks.stage_params import (
    PRESET_FILE,
    StageParams,
    UndeclaredRead,
    dvc_params,
    load_stage_params,
    needs_preset_file,
)


def stage_flow(stage: dict):
    """The flow module a dvc.yaml stage runs (`python -m flows.<name>`)."""
    command = stage["cmd"].split()
    assert command[:2] == ["python", "-m"] and command[2].startswith("flows."), stage["cmd"]
    return importlib.import_module(command[2])


def mismatches(stages: dict) -> dict[str, dict]:
    """stage -> the params dvc.yaml lists but the flow does not read, those it reads but dvc.yaml lacks,
    and whether the preset file is missing from (or needlessly in) its deps."""
    found = {}
    for name, stage in stages.items():
        reads = stage_flow(stage).READS
        listed, derived = set(stage.get("params", [])), set(dvc_params(reads))
        preset_dep = PRESET_FILE in stage.get("deps", [])
        if listed != derived or preset_dep != needs_preset_file(reads):
            found[name] = {"only_in_dvc_yaml": sorted(listed - derived), "missing_in_dvc_yaml": sorted(derived - listed),
                           "preset_file_dep": "missing" if needs_preset_file(reads) and not preset_dep
                           else "unneeded" if preset_dep != needs_preset_file(reads) else "ok"}
    return found


@pytest.fixture(scope="module")
def stages() -> dict:
    return yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]


def test_every_stage_lists_exactly_what_its_flow_reads(stages):
    assert mismatches(stages) == {}


def test_a_stage_listing_too_much_or_too_little_is_found(stages):
    changed = json.loads(json.dumps(stages))
    changed["generate"]["params"].remove("validate_generated.refusal_phrases")
    changed["corpus"]["params"].append("preset")
    changed["validate_generated"]["deps"].remove(PRESET_FILE)
    assert mismatches(changed) == {
        "generate": {"only_in_dvc_yaml": [], "missing_in_dvc_yaml": ["validate_generated.refusal_phrases"],
                     "preset_file_dep": "ok"},
        "corpus": {"only_in_dvc_yaml": ["preset"], "missing_in_dvc_yaml": [], "preset_file_dep": "ok"},
        "validate_generated": {"only_in_dvc_yaml": [], "missing_in_dvc_yaml": [], "preset_file_dep": "missing"},
    }


def test_keys_a_preset_can_fill_are_tracked_where_params_yaml_has_them_plus_the_preset():
    # params.yaml has an empty `model:` (the preset fills it) but lists generate.prompt_pool itself.
    assert dvc_params(["validate_generated", "model.llm", "model.audio_locator", "generate.prompt_pool"]) == [
        "validate_generated", "preset", "model", "generate.prompt_pool"]
    assert needs_preset_file(["model.llm"]) and not needs_preset_file(["corpus", "validate_corpus"])


def test_the_view_serves_declared_keys_and_refuses_others():
    view = StageParams(load_params(), ["generate.prompt_pool", "model.llm"], "demo")
    assert view.generate.prompt_pool == load_params().generate.prompt_pool
    with pytest.raises(UndeclaredRead, match=r"stage 'demo' reads generate.seed, .*flows/demo.py"):
        view.generate.seed
    with pytest.raises(UndeclaredRead, match="reads corpus"):
        view.corpus
    assert view.unread() == ["model.llm"]
    with pytest.raises(ParamsError, match="declares model.llm in READS but never read it"):
        view.require_all_read()
    assert view.model.llm and view.unread() == []
    view.require_all_read()


def test_a_derived_setting_reads_through_the_view():
    params = load_params()
    with pytest.raises(UndeclaredRead, match="reads generate"):
        StageParams(params, ["model.llm"], "demo").generator_llm  # also reads generate.generator
    assert StageParams(params, ["model.llm", "generate.generator"], "demo").generator_llm == params.generator_llm


def test_the_view_is_read_only_and_pickles_for_prefect(tmp_path):
    view = StageParams(load_params(), ["generate"], "demo")
    with pytest.raises(TypeError, match="read-only"):
        view.generate = None
    again = pickle.loads(pickle.dumps(view))
    assert again.generate == view.generate


def test_the_base_models_stage_reads_exactly_its_declaration(tmp_path):
    from flows.base_models import READS

    data = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    data["model"] = {"llm": "meta-llama/Llama-3.1-8B-Instruct", "encoder": "openai/whisper-large-v3"}
    data["base_models"]["out"] = str(tmp_path / "base_models.json")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(data))
    view = load_stage_params(tmp_path / "params.yaml", "base_models", READS)
    prepare_stage(view, tmp_path / "models")
    assert view.unread() == []


@pytest.mark.slow
def test_the_generate_stage_reads_exactly_its_declaration(tmp_path):
    from flows.generate import READS
    from tasks.generate.stage import generate_rows, self_consistency
    from tests.tasks.generate.helpers import write_params, write_small_manifest

    manifest = write_small_manifest(tmp_path / "corpus", speech_clips=1)
    _, path = write_params(tmp_path, manifest=manifest, out=str(tmp_path / "rows.jsonl"),
                           work_dir=str(tmp_path / "work"), backend="transformers", max_new_tokens=4, nll_sample_rows=1)
    view = load_stage_params(path, "generate", READS)
    generate_rows(view)
    self_consistency(view)
    assert view.unread() == []
