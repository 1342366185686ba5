"""Audio helpers shared by every corpus source: decode, mono, resample, levels, noise, mixing, writing.

Everything works on float32 mono arrays in [-1, 1]; files are written as 16-bit PCM WAV. Rounding is
done here (no dither), so the same samples always give the same bytes.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

PEAK_LIMIT = 0.98  # leaves headroom so 16-bit rounding never clips


class AudioDecodeError(ValueError):
    """Audio that soundfile cannot read (wrong format, truncated, empty)."""


def decode(
    path: str | Path, target_rate: int, offset_s: float = 0.0, duration_s: float | None = None
) -> tuple[np.ndarray, int]:
    """A file (wav/flac/ogg/mp3) -> (mono float32 at target_rate, original sample rate).

    offset_s/duration_s read only that part (a segment of a long track without decoding all of it).
    Files, not bytes: libsndfile recognises some mp3s (large ID3 tags) only by their file name.
    """
    try:
        with sf.SoundFile(str(path)) as handle:
            rate = handle.samplerate
            if offset_s:
                handle.seek(int(round(offset_s * rate)))
            frames = -1 if duration_s is None else int(round(duration_s * rate))
            samples = handle.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        # libsndfile's reason without the file name: callers name the file the user knows (not a local copy).
        raise AudioDecodeError(f"cannot decode audio: {getattr(error, 'error_string', None) or error}") from None
    if samples.shape[0] == 0:
        raise AudioDecodeError("the file holds no audio samples")
    return resample(samples.mean(axis=1), rate, target_rate), rate


def duration_of(path: str | Path) -> float:
    with sf.SoundFile(str(path)) as handle:
        return handle.frames / handle.samplerate


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    if rate == target_rate:
        return samples.astype(np.float32)
    ratio = Fraction(target_rate, rate)
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def run_to_samples(command: list[str], wav_path: Path, target_rate: int) -> np.ndarray:
    """Run a renderer (espeak-ng, flite, sox) that writes `wav_path`, then read it back as mono."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not wav_path.is_file():
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    samples, _ = decode(wav_path, target_rate)
    wav_path.unlink()
    return samples


def rms_dbfs(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * np.log10(max(rms, 1e-10))


def set_level(samples: np.ndarray, target_dbfs: float) -> np.ndarray:
    """Scale to an RMS level in dBFS; the peak limit wins over the target (recorded level may be lower)."""
    gain = 10.0 ** ((target_dbfs - rms_dbfs(samples)) / 20.0)
    peak = float(np.max(np.abs(samples))) * gain
    if peak > PEAK_LIMIT:
        gain *= PEAK_LIMIT / peak
    return (samples * gain).astype(np.float32)


def fit_peak(samples: np.ndarray) -> np.ndarray:
    """Scale down only if the peak exceeds PEAK_LIMIT (e.g. after mixing)."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return (samples * (PEAK_LIMIT / peak)).astype(np.float32) if peak > PEAK_LIMIT else samples


NOISE_EXPONENTS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # power spectrum ~ 1 / f^exponent


def coloured_noise(colour: str, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise shaped in the frequency domain to white, pink or brown; unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    frequencies = np.arange(spectrum.size, dtype=np.float64)
    frequencies[0] = 1.0  # leave DC unscaled instead of dividing by zero
    spectrum /= frequencies ** (NOISE_EXPONENTS[colour] / 2.0)
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n_samples)
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """speech + noise scaled so that 10*log10(P_speech / P_noise) == snr_db, then peak-limited."""
    speech_power = np.mean(np.square(speech, dtype=np.float64))
    noise_power = np.mean(np.square(noise, dtype=np.float64))
    scale = np.sqrt(speech_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return fit_peak((speech + scale * noise).astype(np.float32))


def crop(samples: np.ndarray, rate: int, max_duration_s: float) -> np.ndarray:
    return samples[: int(round(max_duration_s * rate))]


def write_wav(path: Path, samples: np.ndarray, rate: int) -> float:
    """Write 16-bit PCM; returns the duration in seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    sf.write(str(path), pcm, rate, subtype="PCM_16", format="WAV")
    return pcm.size / rate
