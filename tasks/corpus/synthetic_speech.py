"""Labelled synthetic speech: espeak-ng and flite voices reading shipped sentences at a chosen pitch,
speed and volume. The labels are the settings, spaced far enough apart to be heard.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from tasks import system_files
from tasks.corpus import labels
from tasks.corpus.audio import run_to_samples, set_level
from tasks.corpus.clips import Clip, SourceContext
from tasks.corpus.sources import system_path

SENTENCES_FILE = Path(__file__).resolve().parent / "sentences.txt"
FLITE_SHARE = 0.25  # flite has 3 voices, espeak-ng 78 voice/variant pairs


def sentences() -> list[str]:
    return [line.strip() for line in SENTENCES_FILE.read_text().splitlines() if line.strip()]


def synthetic_speech_clips(ctx: SourceContext) -> list[Clip]:
    total = ctx.params.synthetic_speech.clips
    if total == 0:
        return []
    n_flite = int(round(total * FLITE_SHARE))
    return _espeak_clips(ctx, total - n_flite) + _flite_clips(ctx, n_flite)


def _levels(rng: np.random.Generator) -> dict[str, str]:
    return {
        "pitch": str(rng.choice(labels.PITCH_LEVELS)),
        "speed": str(rng.choice(labels.SPEED_LEVELS)),
        "volume": str(rng.choice(labels.VOLUME_LEVELS)),
    }


def _espeak_clips(ctx: SourceContext, count: int) -> list[Clip]:
    if count == 0:
        return []
    system_path(system_files.ESPEAK_NG)
    rng, texts = ctx.rng("espeak-ng"), sentences()
    accents, variants = sorted(labels.ESPEAK_ACCENTS), sorted(labels.ESPEAK_VARIANTS)
    clips = []
    for index in range(count):
        language, variant = str(rng.choice(accents)), str(rng.choice(variants))
        levels, text = _levels(rng), str(rng.choice(texts))
        voice = f"{language}+{variant}"
        attributes = {
            "speaker": f"espeak-ng:{voice}",
            "gender": labels.ESPEAK_VARIANTS[variant],
            "accent": labels.ESPEAK_ACCENTS[language],
            "engine": "espeak-ng",
            "voice": voice,
            **levels,
            "pitch_setting": labels.ESPEAK_PITCH[levels["pitch"]],
            "rate_wpm": labels.ESPEAK_RATE_WPM[levels["speed"]],
            "level_dbfs": labels.VOLUME_DBFS[levels["volume"]],
        }
        clip_id = f"espeak-ng-{index:05d}"
        command = espeak_command(voice, levels["pitch"], levels["speed"], text, ctx.scratch_file(clip_id))
        clips.append(_clip(ctx, clip_id, "espeak-ng", text, attributes, command))
    return clips


def _flite_clips(ctx: SourceContext, count: int) -> list[Clip]:
    if count == 0:
        return []
    system_path(system_files.FLITE)
    rng, texts = ctx.rng("flite"), sentences()
    voices = sorted(labels.FLITE_VOICES)
    clips = []
    for index in range(count):
        name = str(rng.choice(voices))
        voice = labels.FLITE_VOICES[name]
        levels, text = _levels(rng), str(rng.choice(texts))
        attributes = {
            "speaker": f"flite:{name}",
            "gender": voice["gender"],
            "accent": voice["accent"],
            "engine": "flite",
            "voice": name,
            **levels,
            "pitch_setting": voice["f0_hz"][levels["pitch"]],
            "duration_stretch": labels.FLITE_DURATION_STRETCH[levels["speed"]],
            "level_dbfs": labels.VOLUME_DBFS[levels["volume"]],
        }
        clip_id = f"flite-{index:05d}"
        command = flite_command(name, levels["pitch"], levels["speed"], text, ctx.scratch_file(clip_id))
        clips.append(_clip(ctx, clip_id, "flite", text, attributes, command))
    return clips


def espeak_command(voice: str, pitch: str, speed: str, text: str, out: Path) -> list[str]:
    """espeak-ng rendering `text` with voice 'language+variant' at a pitch and speed label."""
    return [str(system_files.ESPEAK_NG.path), "-v", voice, "-p", str(labels.ESPEAK_PITCH[pitch]),
            "-s", str(labels.ESPEAK_RATE_WPM[speed]), "-w", str(out), text]  # fmt: skip


def flite_command(voice: str, pitch: str, speed: str, text: str, out: Path) -> list[str]:
    """flite rendering `text` with one of FLITE_VOICES at a pitch and speed label."""
    return [str(system_files.FLITE.path), "-voice", voice,
            "--setf", f"int_f0_target_mean={labels.FLITE_VOICES[voice]['f0_hz'][pitch]}",
            "--setf", f"duration_stretch={labels.FLITE_DURATION_STRETCH[speed]}",
            "-t", text, "-o", str(out)]  # fmt: skip


def render_speech(command: list[str], wav_path: Path, rate: int, volume: str) -> np.ndarray:
    """Run the engine, resample to `rate` and set the RMS level of the volume label."""
    return set_level(run_to_samples(command, wav_path, rate), labels.VOLUME_DBFS[volume])


def _clip(ctx: SourceContext, clip_id: str, source: str, text: str, attributes: dict, command: list[str]) -> Clip:
    render = partial(render_speech, command, ctx.scratch_file(clip_id), ctx.rate, attributes["volume"])
    return Clip(
        id=clip_id, source=source, kind="speech", group=attributes["speaker"],
        license="CC0-1.0", render=render, transcript=text, attributes=attributes,
    )  # fmt: skip
