"""Path safety and the audio probe on real files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from tasks.validate.audio import SILENCE_FLOOR_DBFS, path_problem, probe_audio, probe_files


@pytest.mark.parametrize("path", ["audio/a.wav", "./audio/a.wav", "audio/x/../a.wav", "a b/ü.flac"])
def test_relative_paths_inside_the_root_are_safe(path):
    assert path_problem(path) is None


@pytest.mark.parametrize("path, reason", [
    ("", "empty path"), ("   ", "empty path"), (None, "empty path"), (float("nan"), "empty path"), (".", "empty path"),
    ("/data/a.wav", "is absolute"), ("s3://bucket/a.wav", "is absolute"), ("C:\\audio\\a.wav", "is absolute"),
    ("\\\\server\\a.wav", "is absolute"), ("..", "escapes the data root"), ("../a.wav", "escapes the data root"),
    ("audio/../../a.wav", "escapes the data root"), ("audio\\..\\..\\a.wav", "escapes the data root"),
])
def test_unsafe_paths_are_named(path, reason):
    assert reason in path_problem(path)


def test_probe_measures_a_real_tone(corpus_root):
    root, _ = corpus_root
    probe = probe_audio(str(root / "audio" / "tone_0.wav"))
    assert probe.missing is None and probe.decode_error is None
    assert (probe.sample_rate, probe.seconds, probe.clipped_fraction) == (16000.0, 1.0, 0.0)
    assert probe.rms_dbfs == pytest.approx(20 * math.log10(0.3 / math.sqrt(2)), abs=0.05)


def test_probe_findings_for_broken_files(corpus_root, tmp_path):
    root, _ = corpus_root
    audio = root / "audio"
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    assert probe_audio(str(audio / "silent.wav")).rms_dbfs == SILENCE_FLOOR_DBFS
    assert probe_audio(str(audio / "clipped.wav")).clipped_fraction > 0.5
    assert probe_audio(str(audio / "rate8k.wav")).sample_rate == 8000.0
    assert probe_audio(str(audio / "truncated.wav")).seconds == pytest.approx(0.5, abs=0.01)
    corrupt = probe_audio(str(audio / "corrupt.wav"))
    assert corrupt.decode_error.startswith("LibsndfileError: ") and "object at 0x" not in corrupt.decode_error
    assert math.isnan(corrupt.seconds)
    assert probe_audio(str(tmp_path / "empty.wav")).decode_error == "the file decodes to no audio frames"
    assert probe_audio(str(audio / "gone.wav")).missing == str(audio / "gone.wav")


def test_probe_files_never_opens_unsafe_paths(corpus_root):
    root, _ = corpus_root
    probes = probe_files(str(root), ["audio/tone_1.wav", "../outside.wav", None], workers=2)
    assert probes[0].seconds == 1.0 and probes[1:] == [None, None]
