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




@pytest.fixture
def embedded_corpus(tmp_path) -> Path:
    """A manifest with a test split of tone clips: two speech, two sound, two music (one sound clip missing)."""
    from tasks.manifest import to_frame, write_manifest

    clips = [
        ("s1", "speech", {"gender": "female", "pitch": "high", "speed": "slow", "volume": "loud"}, "hello there"),
        ("s2", "speech", {"gender": "male", "pitch": "low", "speed": "fast", "volume": "quiet",
                          "accent": "Scottish English"}, "good morning"),
        ("n1", "sound", {"category": "cat meowing"}, ""),
        ("n2", "sound", {"category": "beeps"}, ""),
        ("m1", "music", {"pattern": "chord", "chord": "C major"}, ""),
        ("m2", "music", {"pattern": "arpeggio"}, ""),
    ]
    rows = []
    for index, (clip_id, kind, attributes, transcript) in enumerate(clips):
        path = f"audio/{clip_id}.wav"
        if clip_id != "n2":
            write_tone(tmp_path / "corpus" / path, 1.0, 200.0 + 50 * index)
        rows.append({"id": clip_id, "path": path, "source": "fixture", "kind": kind, "duration_s": 1.0,
                     "sample_rate": 16000, "transcript": transcript, "attributes": attributes,
                     "split": "test", "license": "CC0"})
    rows.append({**rows[0], "id": "t1", "split": "train"})
    manifest = tmp_path / "corpus" / "clean.parquet"
    write_manifest(to_frame(rows), str(manifest))
    return manifest
