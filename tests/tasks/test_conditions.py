"""The comparison conditions: another clip of the same kind and split, the same seed the same swap."""

from __future__ import annotations

import pytest

from tasks.conditions import CONDITIONS, condition_rows, mismatched_rows


def row(rid: str, kind: str, split: str, clip: str, text: str = " ") -> dict:
    return {"id": rid, "kind": kind, "split": split, "response": f"answer {rid}",
            "messages": [{"role": "user", "content": "<|AUDIO|>\nWhat is it?", "audios": [{"audio": clip, "text": text}]}]}


def audio_of(r: dict) -> str:
    return r["messages"][0]["audios"][0]["audio"]


ROWS = [row(f"s{i}", "sound", "valid", f"sound/{i}.wav") for i in range(5)] + [
    row(f"m{i}", "music", "valid", f"music/{i}.wav", text=f"lyrics {i}") for i in range(3)
] + [row("m0-again", "music", "valid", "music/0.wav")]


def test_every_row_hears_another_clip_of_its_kind_and_split():
    swapped = mismatched_rows(ROWS, seed=3)
    kinds = {audio_of(r): r["kind"] for r in ROWS}
    for original, other in zip(ROWS, swapped, strict=True):
        assert audio_of(other) != audio_of(original)
        assert kinds[audio_of(other)] == original["kind"]
        # Only the audio changes: the row's own transcript, prompt and response stay.
        assert other["messages"][0]["audios"][0]["text"] == original["messages"][0]["audios"][0]["text"]
        assert other["response"] == original["response"]
    # Two rows of one clip hear the same other clip; every clip is still heard as often.
    by_id = {r["id"]: audio_of(r) for r in swapped}
    assert by_id["m0"] == by_id["m0-again"]
    assert sorted(audio_of(r) for r in swapped if r["kind"] == "sound") == sorted(f"sound/{i}.wav" for i in range(5))
    assert audio_of(ROWS[0]) == "sound/0.wav"  # the input is not modified


def test_same_seed_same_swap_other_seed_other_swap():
    first, again = mismatched_rows(ROWS, seed=3), mismatched_rows(ROWS, seed=3)
    assert [audio_of(r) for r in first] == [audio_of(r) for r in again]
    assert any([audio_of(r) for r in mismatched_rows(ROWS, seed=s)] != [audio_of(r) for r in first] for s in range(4, 9))


def test_a_kind_with_one_clip_cannot_be_mismatched():
    with pytest.raises(ValueError, match="kind 'speech', split 'valid' has one clip"):
        mismatched_rows([*ROWS, row("x", "speech", "valid", "speech/0.wav")], seed=0)


def test_conditions_and_their_rows():
    assert list(CONDITIONS) == ["untrained", "text_only", "mismatched", "trained"]
    assert not CONDITIONS["text_only"].audio_vectors and not CONDITIONS["untrained"].trained_weights
    assert condition_rows("trained", ROWS, 0) == ROWS and condition_rows("text_only", ROWS, 0) == ROWS
    assert [audio_of(r) for r in condition_rows("mismatched", ROWS, 0)] != [audio_of(r) for r in ROWS]
