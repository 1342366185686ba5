"""Noisy speech: a fraction of the speech clips is mixed with coloured noise at a recorded SNR."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

import numpy as np

from tasks.corpus import labels
from tasks.corpus.audio import coloured_noise, mix_at_snr
from tasks.corpus.clips import Clip, SourceContext

# Single-speaker sources; the two-speaker call keeps its turn timings clean.
NOISY_SOURCES = ("espeak-ng", "flite", "asterisk", "alsa")


def add_noise(clips: list[Clip], ctx: SourceContext) -> list[Clip]:
    """The same clips, `noisy_fraction` of the eligible speech ones replaced by a noisy rendering."""
    settings = ctx.params.augmentation
    eligible = [i for i, clip in enumerate(clips) if clip.kind == "speech" and clip.source in NOISY_SOURCES]
    count = int(round(settings.noisy_fraction * len(eligible)))
    if count == 0:
        return clips
    rng = ctx.rng("augmentation")
    noisy = list(clips)
    for index in sorted(rng.choice(eligible, size=count, replace=False).tolist()):
        clip = clips[index]
        colour, snr_db = str(rng.choice(labels.NOISE_COLOURS)), float(rng.choice(settings.snr_db))
        render = partial(_noisy, clip.render, colour, snr_db, ctx.clip_seed(clip.id))
        attributes = {**clip.attributes, "noise": f"{colour} noise", "snr_db": snr_db}
        noisy[index] = dataclasses.replace(clip, render=render, attributes=attributes)
    return noisy


def _noisy(render: Callable[[], np.ndarray], colour: str, snr_db: float, seed: list[int]) -> np.ndarray:
    speech = render()
    return mix_at_snr(speech, coloured_noise(colour, speech.size, np.random.default_rng(seed)), snr_db)
