"""A reader for CTranslate2's model.bin (binary version 6): the format the packaged Whisper weights ship in."""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import torch

from model.base_models import BaseModelError


class CT2FormatError(BaseModelError):
    """A CTranslate2 model.bin is truncated, corrupt or of an unknown layout."""


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
