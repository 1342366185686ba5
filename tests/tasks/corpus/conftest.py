"""Corpus-stage fixtures: small corpus settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.params import CorpusParams, load_params

REPO_ROOT = Path(__file__).resolve().parents[3]


def small_corpus(out: Path, **overrides) -> CorpusParams:
    """The repo's corpus settings shrunk to a few clips of every source (seconds to build)."""
    settings = load_params(REPO_ROOT / "params.yaml").corpus.model_dump()
    settings.update(
        out=str(out),
        synthetic_speech={"clips": 8},
        real_speech={"asterisk_clips": 3, "alsa_clips": True, "pyannote_call": True},
        sound={"recorded_clips": 4, "synthetic_clips": 4},
        music={"synthetic_clips": 3, "recorded_clips": 2, "recorded_segment_s": 3.0},
        augmentation={"noisy_fraction": 0.3, "snr_db": [5.0, 10.0]},
        external=[],
    )
    settings.update(overrides)
    return CorpusParams.model_validate(settings)


@pytest.fixture
def small_params(tmp_path):
    return lambda **overrides: small_corpus(tmp_path / "corpus", **overrides)
