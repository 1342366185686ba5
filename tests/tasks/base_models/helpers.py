"""Shared by the base-model preparation tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"
WHISPER_TINY_EN = "openai/whisper-tiny.en"


def make_wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
