"""Sound events: recorded (freedesktop theme, arcade game effects, animal recordings) with a human
category from sound_categories.csv, and synthesised (sox tones, beeps, sweeps; coloured noise) with
their parameters as attributes.
"""

from __future__ import annotations

from functools import partial
from itertools import chain, zip_longest
from pathlib import Path

import numpy as np

from tasks import system_files
from tasks.corpus import labels, sources
from tasks.corpus.audio import coloured_noise, crop, decode, run_to_samples, set_level
from tasks.corpus.clips import Clip, SourceContext

SYNTH_LEVEL_DBFS = -20.0
MIN_EVENT_S = 0.5
TONE_FREQUENCIES_HZ = (220, 330, 440, 660, 880, 1000, 1500, 2000, 3000)
SYNTH_LICENSE = "CC0-1.0"


def sound_clips(ctx: SourceContext) -> list[Clip]:
    settings = ctx.params.sound
    return _recorded_clips(ctx, settings.recorded_clips) + _synthetic_clips(ctx, settings.synthetic_clips)


# ------------------------------------------------------------------------------------------- recorded
def recorded_audio(source: str, file: str, cache_dir: Path) -> Path:
    """One recording, from a Debian package or an unpacked wheel."""
    if source == "freedesktop":
        return sources.system_path(system_files.FREEDESKTOP_SOUNDS) / file
    return sources.wheel_dir(source, cache_dir) / ("sounds/" if source == "arcade" else "") / file


def _recorded_clips(ctx: SourceContext, count: int) -> list[Clip]:
    if count == 0:
        return []
    rng = ctx.rng("recorded-sound")
    by_source: dict[str, list[dict]] = {}
    for row in labels.sound_categories():
        by_source.setdefault(row["source"], []).append(row)
    # Shuffle within each source, then interleave the sources so that a small corpus still has all kinds.
    shuffled = [[rows[i] for i in rng.permutation(len(rows))] for _, rows in sorted(by_source.items())]
    chosen = [row for row in chain.from_iterable(zip_longest(*shuffled)) if row is not None][:count]
    clips = []
    for row in chosen:
        source, file, stem = row["source"], row["file"], Path(row["file"]).stem
        attributes = {"category": row["category"], "original_file": file}
        if source == "arcade":
            attributes["style"] = "retro video game sound effect"
        render = partial(_decoded, recorded_audio(source, file, ctx.cache_dir), ctx.rate, ctx.params.max_duration_s)
        clips.append(Clip(id=f"{source}-{stem.lower()}", source=source, kind="sound", group=f"{source}:{stem}",
                          license=row["license"], render=render, attributes=attributes))  # fmt: skip
    return clips


def _decoded(data: Path, rate: int, max_duration_s: float) -> np.ndarray:
    """Cropped to the corpus maximum; very short effects (clicks, hits) padded with trailing silence up to
    MIN_EVENT_S so that every clip is long enough for the encoder and the validation gate."""
    samples = crop(decode(data, rate)[0], rate, max_duration_s)
    return np.pad(samples, (0, max(0, int(MIN_EVENT_S * rate) - samples.size)))


# ---------------------------------------------------------------------------------------- synthesised
def _synthetic_clips(ctx: SourceContext, count: int) -> list[Clip]:
    if count == 0:
        return []
    sources.system_path(system_files.SOX)
    rng = ctx.rng("sox-sound")
    planners = {"pure tone": _tone, "beeps": _beeps, "frequency sweep": _sweep, "noise": _noise}
    clips = []
    for index in range(count):
        clip_id = f"sox-sound-{index:05d}"
        category = labels.SYNTH_SOUND_CATEGORIES[index % len(labels.SYNTH_SOUND_CATEGORIES)]
        attributes, render = planners[category](ctx, clip_id, rng)
        clips.append(Clip(id=clip_id, source="sox-sound", kind="sound", group=clip_id, license=SYNTH_LICENSE,
                          render=render, attributes={"category": category, **attributes}))  # fmt: skip
    return clips


def _duration(rng: np.random.Generator, low: float = 1.0, high: float = 3.0) -> float:
    return round(float(rng.uniform(low, high)), 1)


def sox_command(out: Path, rate: int, effects: list[str]) -> list[str]:
    """`sox -R` (repeatable: pluck's and dither's random numbers are seeded) writing float WAV."""
    return [str(system_files.SOX.path), "-R", "-n", "-r", str(rate), "-e", "floating-point", "-b", "32", "-c", "1", str(out), *effects]


def sox_render(ctx: SourceContext, clip_id: str, effects: list[str]):
    out = ctx.scratch_file(clip_id)
    return partial(_render_levelled, sox_command(out, ctx.rate, effects), out, ctx.rate)


def _render_levelled(command: list[str], out: Path, rate: int) -> np.ndarray:
    return set_level(run_to_samples(command, out, rate), SYNTH_LEVEL_DBFS)


def _tone(ctx: SourceContext, clip_id: str, rng: np.random.Generator):
    waveform, frequency = str(rng.choice(labels.WAVEFORMS)), int(rng.choice(TONE_FREQUENCIES_HZ))
    duration = _duration(rng)
    effects = ["synth", str(duration), waveform, str(frequency), "fade", "0.02", str(duration), "0.02"]
    attributes = {"waveform": waveform, "frequency_hz": frequency, "duration_s": duration}
    return attributes, sox_render(ctx, clip_id, effects)


def _beeps(ctx: SourceContext, clip_id: str, rng: np.random.Generator):
    count, frequency = int(rng.integers(2, 6)), int(rng.choice(TONE_FREQUENCIES_HZ))
    beep_s, gap_s = round(float(rng.uniform(0.1, 0.3)), 2), round(float(rng.uniform(0.1, 0.3)), 2)
    effects = ["synth", str(beep_s), "sine", str(frequency), "fade", "0.005", str(beep_s), "0.005",
               "pad", "0", str(gap_s), "repeat", str(count - 1)]  # fmt: skip
    attributes = {"waveform": "sine", "frequency_hz": frequency, "beep_count": count,
                  "beep_s": beep_s, "gap_s": gap_s}  # fmt: skip
    return attributes, sox_render(ctx, clip_id, effects)


def _sweep(ctx: SourceContext, clip_id: str, rng: np.random.Generator):
    start, end = (int(f) for f in rng.choice(TONE_FREQUENCIES_HZ, size=2, replace=False))
    duration = _duration(rng)
    effects = ["synth", str(duration), "sine", f"{start}-{end}", "fade", "0.02", str(duration), "0.02"]
    attributes = {"waveform": "sine", "start_hz": start, "end_hz": end,
                  "sweep": "rising" if end > start else "falling", "duration_s": duration}  # fmt: skip
    return attributes, sox_render(ctx, clip_id, effects)


def _noise(ctx: SourceContext, clip_id: str, rng: np.random.Generator):
    colour, duration = str(rng.choice(labels.NOISE_COLOURS)), _duration(rng)
    render = partial(_noise_render, colour, int(duration * ctx.rate), ctx.clip_seed(clip_id))
    return {"noise_colour": colour, "duration_s": duration}, render


def _noise_render(colour: str, n_samples: int, seed: list[int]) -> np.ndarray:
    # sox's noise generators have one fixed seed under -R, so every clip would be the same noise.
    return set_level(coloured_noise(colour, n_samples, np.random.default_rng(seed)), SYNTH_LEVEL_DBFS)
