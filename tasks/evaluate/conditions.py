"""The four comparison conditions, as the evaluation runs them on the same items.

    untrained   a freshly initialised connector (seeded) on the same frozen base models
    text_only   audio vectors left out, the transcript kept where the audio was
    mismatched  the trained connector fed another clip's audio of the same kind (a seeded derangement)
    trained     the model under evaluation

The condition names are the contract of tasks/conditions.py (branch h/train). Until it lands on main this
module carries them; at merge `CONDITIONS` comes from there (one import), the rest is evaluation glue.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

import torch

from model.modeling_desta25 import DeSTA25Model
from tasks.evaluate.inference import Answer, as_text
from tasks.evaluate.items import Item

CONDITIONS = ("untrained", "text_only", "mismatched", "trained")


def untrained_like(model: DeSTA25Model, seed: int) -> DeSTA25Model:
    """The same base models with a fresh connector (initialised under `seed`); LoRA, when on, starts fresh too."""
    if model.config.lora["enabled"]:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            return DeSTA25Model.from_config(model.config, device=model.device, processor=model.processor)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return DeSTA25Model(model.config, model.llm, model.whisper, model.processor)


def mismatched_items(items: Sequence[Item], seed: int) -> tuple[list[Item], int]:
    """Items whose clip is replaced by another clip of the same kind; (items, clips left unmatched).

    Distinct clips of a kind are shuffled (seeded) and each takes the next one's audio, so no clip keeps its
    own; a kind with a single clip cannot be mismatched and keeps it (counted)."""
    clips: dict[str | None, list[str]] = defaultdict(list)
    for item in items:
        if item.audio is not None and item.audio not in clips[item.kind]:
            clips[item.kind].append(item.audio)
    rng = random.Random(seed)
    replacement, unmatched = {}, 0
    for kind_clips in clips.values():
        order = sorted(kind_clips)
        rng.shuffle(order)
        if len(order) == 1:
            unmatched += 1
        replacement |= {clip: order[(i + 1) % len(order)] for i, clip in enumerate(order)}
    swapped = []
    for item in items:
        if item.audio is None:
            swapped.append(item)
            continue
        other = replacement[item.audio]
        messages = [{**m, "audios": [{"audio": other}]} if m.get("audios") else m for m in item.messages]
        swapped.append(Item(item.id, messages, other, item.reference, item.groups, item.kind, item.source))
    return swapped, unmatched


def text_only_feed(model: DeSTA25Model):
    """What the text-only condition reads: the transcript in place of the audio, inside the model's markers."""
    start, end = model.config.audio_start_marker, model.config.audio_end_marker
    return lambda answer: as_text(answer.messages, answer.transcript or " ", start, end)


def identity_feed(answer: Answer) -> list[dict]:
    return answer.messages
