"""Split assignment: whole groups per split, about the requested fractions, deterministic, presets kept."""

from __future__ import annotations

from tasks.corpus.clips import Clip
from tasks.corpus.splits import assign_splits
from tasks.params import SplitParams

FRACTIONS = SplitParams(train=0.8, valid=0.1, test=0.1)


def clips(n_groups: int, per_group: int, source: str = "src") -> list[Clip]:
    return [
        Clip(id=f"{source}-{g}-{i}", source=source, kind="speech", group=f"speaker{g}", license="x",
             render=lambda: None)
        for g in range(n_groups) for i in range(per_group)
    ]  # fmt: skip


def test_groups_stay_in_one_split_and_fractions_hold():
    assigned = assign_splits(clips(200, 3), FRACTIONS, seed=1)
    split_of_group = {}
    for clip in assigned:
        assert split_of_group.setdefault(clip.group, clip.split) == clip.split
    share = {s: sum(c.split == s for c in assigned) / len(assigned) for s in ("train", "valid", "test")}
    assert abs(share["train"] - 0.8) < 0.02 and abs(share["valid"] - 0.1) < 0.02 and abs(share["test"] - 0.1) < 0.02


def test_same_seed_same_splits_other_seed_other_splits():
    first = [c.split for c in assign_splits(clips(50, 2), FRACTIONS, seed=1)]
    assert first == [c.split for c in assign_splits(clips(50, 2), FRACTIONS, seed=1)]
    assert first != [c.split for c in assign_splits(clips(50, 2), FRACTIONS, seed=2)]


def test_a_preset_split_is_kept():
    preset = [Clip(id="x", source="mine", kind="sound", group="x", license="x", render=lambda: None, split="test")]
    assert assign_splits(preset + clips(10, 1), FRACTIONS, seed=1)[0].split == "test"


def test_sources_are_split_independently():
    """Adding a source never moves another source's clips between splits."""
    alone = assign_splits(clips(30, 1, "a"), FRACTIONS, seed=5)
    together = assign_splits(clips(30, 1, "a") + clips(40, 1, "b"), FRACTIONS, seed=5)
    assert [c.split for c in alone] == [c.split for c in together[:30]]
