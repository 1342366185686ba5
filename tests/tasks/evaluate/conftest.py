"""Evaluation fixtures: the tiny random-weight base models of the model tests, and a small MMAU set on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.model.conftest import base_dirs, tiny_config, tiny_model  # noqa: F401  (fixtures)

FIXTURES = Path(__file__).parent / "fixtures"


def write_tone(path: Path, seconds: float, frequency: float = 440.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * 16000)) / 16000
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), 16000)


@pytest.fixture
def mmau_set(tmp_path) -> Path:
    """The MMAU fixture as an input file with audio for m1..m4 (m4 is 40 s long) and none for m5."""
    rows = json.loads((FIXTURES / "mmau_results.json").read_text())
    for row in rows:
        for key in ("model_output", "model_prediction", "match"):
            row.pop(key, None)
    data = tmp_path / "mmau-test-mini.json"
    data.write_text(json.dumps(rows, indent=2))
    for index, row in enumerate(rows[:4]):
        write_tone(tmp_path / row["audio_id"], 40.0 if row["id"] == "m4" else 1.0 + index, 300.0 + 100 * index)
    return data


@pytest.fixture
def trained_dir(tiny_model, tmp_path) -> Path:
    """A 'trained' model for development: an untrained connector saved with save_pretrained."""
    directory = tmp_path / "model"
    tiny_model.save_pretrained(directory)
    return directory


