"""The four conditions every claim about the trained model is measured against, on the same rows.

    untrained   the freshly initialised connector (seeded), reading the clip
    text_only   no audio vectors at all; the prompt and the clip's transcript stay: what the LLM does
                without hearing anything
    mismatched  the trained connector fed another clip's audio of the same kind and split (the row's own
                prompt and transcript stay): a connector that learned only a soft prompt scores the same
                as `trained` here; beating it is the evidence that what the clip sounds like reaches the LLM
    trained     the trained connector reading the row's own clip

Use: `rows = condition_rows(name, rows, seed)`, `model = condition_model(name, model_dir, seed=seed)`, then
feed the model batches built with `audio_vectors=CONDITIONS[name].audio_vectors` (the processor's and
`DeSTA25Model.generate`'s option).
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from model import DeSTA25Config, DeSTA25Model


@dataclass(frozen=True)
class Condition:
    name: str
    trained_weights: bool  # the trained connector (else a fresh one, seeded)
    audio_vectors: bool  # the audio vectors enter the prompt (else only its text, transcript included)
    mismatched_audio: bool  # each row hears another clip of its kind


CONDITIONS = {
    "untrained": Condition("untrained", trained_weights=False, audio_vectors=True, mismatched_audio=False),
    "text_only": Condition("text_only", trained_weights=True, audio_vectors=False, mismatched_audio=False),
    "mismatched": Condition("mismatched", trained_weights=True, audio_vectors=True, mismatched_audio=True),
    "trained": Condition("trained", trained_weights=True, audio_vectors=True, mismatched_audio=False),
}


def _audio_key(row: dict) -> tuple[str, ...]:
    return tuple(str(a.get("audio")) for m in row["messages"] for a in (m.get("audios") or []))


def mismatched_rows(rows: Sequence[dict], seed: int) -> list[dict]:
    """Copies of `rows` in which every row's audio files are another clip's of the same kind and split.

    Clips are grouped by (kind, split), shuffled with `seed` and each is given the next one's audio in that
    cycle, so no row keeps its own clip and every clip is heard as often as before. Only the `audio` paths
    change: prompts, transcripts and responses stay the row's own. A group with one clip cannot be
    mismatched: ValueError naming it.
    """
    groups: dict[tuple[str, str], list[tuple[str, ...]]] = defaultdict(list)
    for row in rows:
        key = (str(row.get("kind")), str(row.get("split")))
        if _audio_key(row) not in groups[key]:
            groups[key].append(_audio_key(row))
    replacement = {}
    rng = random.Random(seed)
    for (kind, split), clips in sorted(groups.items()):
        if len(clips) < 2:
            raise ValueError(f"kind {kind!r}, split {split!r} has one clip only: nothing to mismatch it with")
        order = sorted(clips)
        rng.shuffle(order)
        replacement.update({clip: order[(i + 1) % len(order)] for i, clip in enumerate(order)})
    swapped = []
    for row in rows:
        row = copy.deepcopy(row)
        others = iter(replacement[_audio_key(row)])
        for message in row["messages"]:
            for audio in message.get("audios") or []:
                audio["audio"] = next(others)
        swapped.append(row)
    return swapped


def condition_rows(name: str, rows: Sequence[dict], seed: int) -> list[dict]:
    """The rows as the condition sees them (mismatched: another clip's audio; else unchanged)."""
    return mismatched_rows(rows, seed) if CONDITIONS[name].mismatched_audio else list(rows)


def untrained_model(config: DeSTA25Config, seed: int, device=None, audio_root=None) -> DeSTA25Model:
    """The base models with a freshly initialised connector; the same seed gives the same connector."""
    torch.manual_seed(seed)
    return DeSTA25Model.from_config(config, device=device, audio_root=audio_root)


def condition_model(name: str, model_dir: str, seed: int, device=None, audio_root=None) -> DeSTA25Model:
    """The model a condition runs: the trained one from `model_dir`, or (untrained) its seeded fresh twin."""
    if CONDITIONS[name].trained_weights:
        return DeSTA25Model.from_pretrained(model_dir, device=device, audio_root=audio_root)
    return untrained_model(DeSTA25Config.from_pretrained(model_dir), seed, device=device, audio_root=audio_root)
