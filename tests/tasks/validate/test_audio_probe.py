"""The audio probe on real files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from tasks.storage import locate
from tasks.validate.audio import SILENCE_FLOOR_DBFS, probe_audio, probe_files


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
    paths = ["audio/tone_1.wav", "../outside.wav", None, "audio/linked_outside.wav"]
    probes = probe_files([url for url, _ in (locate(str(root), path) for path in paths)], workers=2)
    assert probes[0].seconds == 1.0 and probes[1:] == [None, None, None]
