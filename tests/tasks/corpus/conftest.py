"""Corpus-stage fixtures: small corpus settings and a real S3 server (SeaweedFS)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.local_s3 import LocalS3
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


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3-compatible server for the session; AWS_* variables point at it while it runs."""
    with LocalS3(tmp_path_factory.mktemp("s3")) as server:
        saved = {key: os.environ.get(key) for key in server.env()}
        os.environ.update(server.env())
        try:
            yield server
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
