"""Train/valid/test assignment: whole groups (speakers, recordings, tracks) go to one split, so the
splits are speaker-disjoint wherever a source has several speakers. Deterministic from the seed.
"""

from __future__ import annotations

import dataclasses
import hashlib

from tasks.corpus.clips import Clip
from tasks.params import SplitParams


def _order_key(seed: int, source: str, group: str) -> str:
    return hashlib.sha256(f"{seed}\0{source}\0{group}".encode()).hexdigest()


def assign_splits(clips: list[Clip], fractions: SplitParams, seed: int) -> list[Clip]:
    """Per source: groups in a seeded pseudo-random order fill train, then valid, then test, each
    group going to the split its middle clip falls in, so each split gets ~its fraction of clips."""
    sizes: dict[str, dict[str, int]] = {}
    for clip in clips:
        if clip.split is None:
            groups = sizes.setdefault(clip.source, {})
            groups[clip.group] = groups.get(clip.group, 0) + 1
    split_of: dict[tuple[str, str], str] = {}
    for source, groups in sizes.items():
        total, done = sum(groups.values()), 0
        for group in sorted(groups, key=lambda g: _order_key(seed, source, g)):
            middle = (done + groups[group] / 2) / total
            if middle < fractions.train:
                split_of[source, group] = "train"
            else:
                split_of[source, group] = "valid" if middle < fractions.train + fractions.valid else "test"
            done += groups[group]
    return [
        clip if clip.split else dataclasses.replace(clip, split=split_of[clip.source, clip.group]) for clip in clips
    ]
