"""File-level facts GX cannot see on its own: does a manifest path stay inside the data root once links
are followed (tasks/storage.py), does the file exist and decode, and what its audio really is (sample
rate, duration, loudness, clipping). The gate stores these as extra columns so that GX evaluates them
alongside the manifest's own columns.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from tasks.storage import filesystem

# A sample this close to full scale counts as clipped (int16 full scale decodes to 0.99997).
CLIP_LEVEL = 0.999
# RMS of digital silence is 0: report it as this floor rather than -inf so it stays a JSON number.
SILENCE_FLOOR_DBFS = -200.0


@dataclass(frozen=True)
class AudioProbe:
    """What reading one file found; NaN measurements where it could not be read."""

    missing: str | None = None  # the URL that does not exist
    decode_error: str | None = None
    sample_rate: float = math.nan
    seconds: float = math.nan
    rms_dbfs: float = math.nan
    clipped_fraction: float = math.nan


def probe_audio(url: str) -> AudioProbe:
    fs, path = filesystem(url)
    try:
        with fs.open(path, "rb") as handle:
            samples, rate = sf.read(handle, dtype="float32", always_2d=True)
    except FileNotFoundError:
        return AudioProbe(missing=url)
    except Exception as error:  # untrusted bytes: any decoder failure is a finding about this row, not a crash
        # libsndfile's own reason, without the repr of the file object it was handed
        reason = getattr(error, "error_string", None) or str(error)
        return AudioProbe(decode_error=f"{type(error).__name__}: {reason}")
    if samples.size == 0:
        return AudioProbe(decode_error="the file decodes to no audio frames", sample_rate=float(rate), seconds=0.0)
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return AudioProbe(
        sample_rate=float(rate),
        seconds=samples.shape[0] / rate,
        rms_dbfs=20.0 * math.log10(rms) if rms > 0 else SILENCE_FLOOR_DBFS,
        clipped_fraction=float(np.mean(np.abs(samples) >= CLIP_LEVEL)),
    )


def probe_files(urls: list[str | None], workers: int) -> list[AudioProbe | None]:
    """Probe every file (tasks.storage.locate gives the URLs; None where a path was refused: never opened)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda url: probe_audio(url) if url else None, urls))
