"""The labels of synthetic speech are true of the audio: measured f0 orders with the pitch label,
duration with the speed label, loudness with the volume label."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.corpus import labels
from tasks.corpus.audio import rms_dbfs
from tasks.corpus.synthetic_speech import espeak_command, flite_command, render_speech, sentences

RATE = 16000
TEXT = "The lighthouse keeper climbed the stairs at sunset."
VOICES = [
    ("espeak-ng", "en-us+m3"), ("espeak-ng", "en-gb-x-rp+f2"), ("flite", "slt"), ("flite", "awb"), ("flite", "kal16"),
]  # fmt: skip


def median_f0(samples: np.ndarray, rate: int = RATE) -> float:
    """Median autocorrelation pitch (60-500 Hz) over voiced 40 ms frames."""
    frame, estimates = int(0.04 * rate), []
    threshold = 0.1 * np.max(np.abs(samples))
    for start in range(0, samples.size - frame, frame // 2):
        window = samples[start : start + frame] * np.hanning(frame)
        if np.sqrt(np.mean(window**2)) < threshold * 0.2:
            continue
        corr = np.correlate(window, window, "full")[frame - 1 :]
        low, high = rate // 500, rate // 60
        lag = low + int(np.argmax(corr[low:high]))
        if corr[lag] > 0.4 * corr[0]:
            estimates.append(rate / lag)
    return float(np.median(estimates))


def speak(engine: str, voice: str, tmp_path, pitch="normal", speed="normal", volume="normal") -> np.ndarray:
    out = tmp_path / f"{engine}-{voice}-{pitch}-{speed}-{volume}.wav"
    command = (espeak_command if engine == "espeak-ng" else flite_command)(voice, pitch, speed, TEXT, out)
    return render_speech(command, out, RATE, volume)


@pytest.mark.parametrize("engine, voice", VOICES)
def test_pitch_label_orders_measured_f0(engine, voice, tmp_path):
    f0 = {pitch: median_f0(speak(engine, voice, tmp_path, pitch=pitch)) for pitch in labels.PITCH_LEVELS}
    assert f0["low"] * 1.1 < f0["normal"] and f0["normal"] * 1.1 < f0["high"], f0


@pytest.mark.parametrize("engine, voice", VOICES)
def test_speed_label_orders_duration(engine, voice, tmp_path):
    seconds = {speed: speak(engine, voice, tmp_path, speed=speed).size / RATE for speed in labels.SPEED_LEVELS}
    assert seconds["slow"] > 1.15 * seconds["normal"] and seconds["normal"] > 1.15 * seconds["fast"], seconds


@pytest.mark.parametrize("engine, voice", VOICES)
def test_volume_label_orders_loudness(engine, voice, tmp_path):
    level = {volume: rms_dbfs(speak(engine, voice, tmp_path, volume=volume)) for volume in labels.VOLUME_LEVELS}
    assert level["quiet"] + 6 < level["normal"] and level["normal"] + 4 < level["loud"], level
    assert abs(level["quiet"] - labels.VOLUME_DBFS["quiet"]) < 0.5  # no peak limiting at that level


def test_gender_label_matches_voice_f0(tmp_path):
    """Normal-pitch female variants speak clearly higher than male ones."""
    male = median_f0(speak("espeak-ng", "en-us+m1", tmp_path))
    female = median_f0(speak("espeak-ng", "en-us+f1", tmp_path))
    assert female > 1.3 * male


def test_sentences_are_many_and_distinct():
    texts = sentences()
    assert len(texts) >= 150 and len(set(texts)) == len(texts)
