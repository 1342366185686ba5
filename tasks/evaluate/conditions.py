"""The four comparison conditions (tasks/conditions.py) applied to benchmark items instead of training rows:
the same names, the same seeded untrained twin, the same mismatching rule (another clip of the same kind),
and the model library's text-only knob (`audio_vectors=False`)."""

from __future__ import annotations

from collections.abc import Sequence

from tasks.conditions import CONDITIONS, mismatched_rows, untrained_model
from tasks.evaluate.items import Item

__all__ = ["CONDITIONS", "condition_model", "mismatched_items"]


def condition_model(name: str, trained, seed: int):
    """The model a condition runs: the trained one, or (untrained) its seeded fresh twin on the same base models."""
    if CONDITIONS[name].trained_weights:
        return trained
    return untrained_model(trained.config, seed, device=trained.device)


def mismatched_items(items: Sequence[Item], seed: int) -> list[Item]:
    """Items whose clip is another clip of the same kind (tasks.conditions.mismatched_rows on the items); each
    keeps its own clip's transcript, as the training rows of the condition do."""
    rows = [{"messages": item.messages, "kind": item.kind, "split": "evaluation"} for item in items]
    swapped = []
    for item, row in zip(items, mismatched_rows(rows, seed), strict=True):
        audio = next((a["audio"] for m in row["messages"] for a in m.get("audios") or []), None)
        swapped.append(Item(item.id, row["messages"], audio, item.reference, item.groups, item.kind, item.source,
                            transcript_audio=item.audio, max_new_tokens=item.max_new_tokens))
    return swapped
