"""Audio helpers: noise colours, mixing at an SNR, levels, resampling, decoding errors, exact bytes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tasks.corpus.audio import (
    AudioDecodeError,
    coloured_noise,
    decode,
    mix_at_snr,
    rms_dbfs,
    set_level,
    write_wav,
)  # fmt: skip


def high_band_share(noise: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(noise)) ** 2
    return float(power[power.size // 2 :].sum() / power.sum())


def test_noise_colours_tilt_towards_low_frequencies():
    rng = np.random.default_rng(0)
    share = {colour: high_band_share(coloured_noise(colour, 16000, rng)) for colour in ("white", "pink", "brown")}
    assert 0.4 < share["white"] < 0.6
    assert share["white"] > 5 * share["pink"] > 5 * share["brown"] > 0


def test_noise_is_reproducible_from_its_seed():
    a = coloured_noise("pink", 4000, np.random.default_rng([1, 2]))
    b = coloured_noise("pink", 4000, np.random.default_rng([1, 2]))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("snr_db", [0.0, 5.0, 20.0])
def test_mix_reaches_the_requested_snr(snr_db):
    rng = np.random.default_rng(1)
    speech = (0.1 * np.sin(np.arange(16000) * 0.05)).astype(np.float32)
    noise = coloured_noise("white", speech.size, rng)
    mixed = mix_at_snr(speech, noise, snr_db)
    residual = mixed - speech
    measured = 10 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(residual.astype(np.float64) ** 2))
    assert measured == pytest.approx(snr_db, abs=0.1)


def test_set_level_hits_the_target_unless_the_peak_would_clip():
    tone = np.sin(np.linspace(0, 200 * np.pi, 16000)).astype(np.float32)
    assert rms_dbfs(set_level(tone, -30.0)) == pytest.approx(-30.0, abs=0.01)
    assert np.max(np.abs(set_level(tone, 0.0))) <= 0.98


def test_decode_averages_channels_and_resamples(tmp_path):
    left, right = np.full(44100, 0.5, np.float32), np.full(44100, -0.1, np.float32)
    sf.write(tmp_path / "stereo.flac", np.stack([left, right], axis=1), 44100)
    samples, rate = decode(tmp_path / "stereo.flac", 16000)
    assert rate == 44100 and samples.size == 16000
    assert np.median(samples) == pytest.approx(0.2, abs=1e-3)


def test_decode_reports_unreadable_audio(tmp_path):
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really a wave file")
    with pytest.raises(AudioDecodeError, match="cannot decode"):
        decode(tmp_path / "broken.wav", 16000)


def test_written_bytes_depend_only_on_the_samples(tmp_path):
    samples = coloured_noise("brown", 8000, np.random.default_rng(3)) * 0.1
    write_wav(tmp_path / "a.wav", samples, 16000)
    write_wav(tmp_path / "b.wav", samples.copy(), 16000)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
