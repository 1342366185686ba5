"""Where training finds a row's audio: under train.audio_root only, links followed."""

from __future__ import annotations

import pytest

from tasks.storage import OutsideRootError
from tasks.train.data import resolve_audio_path


def test_audio_is_found_under_the_root_with_the_wav_fallback(tmp_path):
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "a.wav").write_bytes(b"x")
    assert resolve_audio_path("audio/a.wav", tmp_path) == str(tmp_path / "audio" / "a.wav")
    assert resolve_audio_path("audio/a.flac", tmp_path) == str(tmp_path / "audio" / "a.wav")
    assert resolve_audio_path(str(tmp_path / "audio" / "a.wav"), tmp_path) == str(tmp_path / "audio" / "a.wav")


def test_audio_outside_the_root_is_refused_even_through_a_link(tmp_path):
    root = tmp_path / "corpus"
    (root / "audio").mkdir(parents=True)
    (tmp_path / "secret.wav").write_bytes(b"x")
    (root / "audio" / "link.wav").symlink_to(tmp_path / "secret.wav")
    for path in ("audio/link.wav", "../secret.wav", str(tmp_path / "secret.wav")):
        with pytest.raises(OutsideRootError):
            resolve_audio_path(path, root)
