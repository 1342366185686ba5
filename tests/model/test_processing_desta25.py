"""Prompt assembly, labels, padding and audio loading of DeSTA25Processor (tiny tokenizer, no model weights)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
import torch

from model import DeSTA25Processor, DeSTAInputError, read_audio
from model.processing_desta25 import IGNORE_INDEX
from tests.model.desta_helpers import SYSTEM, clip, tone, user


@pytest.fixture
def processor(tiny_config, base_dirs, tmp_path) -> DeSTA25Processor:
    llm_dir, whisper_dir = base_dirs
    return DeSTA25Processor.from_config(tiny_config, llm_dir, whisper_dir, audio_root=tmp_path)


def runs(row: torch.Tensor, token: int) -> list[tuple[int, int]]:
    """(start, length) of each run of `token` in a 1-D tensor."""
    found, start = [], None
    for i, value in enumerate(row.tolist() + [None]):
        if value == token and start is None:
            start = i
        elif value != token and start is not None:
            found.append((start, i - start))
            start = None
    return found


def test_each_locator_becomes_placeholders_then_its_transcript(processor):
    conversation = [
        SYSTEM,
        user("Compare <|AUDIO|> with <|AUDIO|>.", clip(text="hello"), clip(40.0, text="a dog barks")),
        {"role": "assistant", "content": "ok"},
        user("And this one? <|AUDIO|>", clip(text=" ")),
    ]
    batch = processor([conversation])
    ids = batch["input_ids"][0]
    q = processor.num_queries
    placeholder_runs = runs(ids, processor.placeholder_id)
    # The 40 s clip takes two 30 s windows, so twice the queries.
    assert [length for _, length in placeholder_runs] == [q, 2 * q, q]
    for (start, length), text in zip(placeholder_runs, ["hello", "a dog barks", " "], strict=True):
        transcript = processor.tokenizer(text, add_special_tokens=False).input_ids
        assert ids[start + length : start + length + len(transcript)].tolist() == transcript
    assert batch["input_features"].shape == (4, 80, 3000)
    assert "labels" not in batch
    text = processor.tokenizer.decode(ids[ids != processor.placeholder_id])
    assert text.startswith("<|im_start|>system\nFocus") and text.endswith("<|im_start|>assistant\n")


def test_labels_cover_only_the_response_and_its_end_of_turn(processor):
    conversation = [SYSTEM, user("Describe <|AUDIO|>", clip())]
    batch = processor([conversation], responses=["A dog barks twice."])
    labels, ids = batch["labels"][0], batch["input_ids"][0]
    labelled = labels != IGNORE_INDEX
    assert processor.tokenizer.decode(labels[labelled]) == "A dog barks twice.<|im_end|>"
    # The labelled tokens are the last ones and equal the inputs there (the LLM shifts them itself).
    assert labelled[-int(labelled.sum()) :].all()
    assert torch.equal(ids[labelled], labels[labelled])


def test_batch_is_left_padded_and_each_row_matches_its_single_encoding(processor):
    short = [user("Hi <|AUDIO|>", clip(text="hello"))]
    long = [SYSTEM, user("Describe the sound in detail. <|AUDIO|> <|AUDIO|>", clip(), clip(text="a dog barks"))]
    batch = processor([short, long], responses=["Hello.", "The speaker says hello in a calm voice."])
    alone = processor([short], responses=["Hello."])
    width = alone["input_ids"].shape[1]
    pad = batch["input_ids"].shape[1] - width
    assert pad > 0
    assert batch["attention_mask"][0, :pad].eq(0).all() and batch["attention_mask"][0, pad:].eq(1).all()
    assert torch.equal(batch["input_ids"][0, pad:], alone["input_ids"][0])
    assert torch.equal(batch["labels"][0, pad:], alone["labels"][0])
    assert batch["labels"][0, :pad].eq(IGNORE_INDEX).all()
    assert batch["attention_mask"][1].eq(1).all()
    # Features follow the audios in conversation order: short's one, then long's two.
    assert torch.equal(batch["input_features"][0], alone["input_features"][0])


def test_transcripts_are_cut_at_max_transcript_tokens(processor):
    long_text = "hello world " * 20
    ids = processor([[user("<|AUDIO|>", clip(text=long_text))]])["input_ids"][0]
    (start, length), = runs(ids, processor.placeholder_id)
    expected = processor.tokenizer(long_text, add_special_tokens=False).input_ids[: processor.max_transcript_tokens]
    assert ids[start + length : start + length + len(expected)].tolist() == expected
    assert len(expected) == processor.max_transcript_tokens


def test_audio_files_are_read_under_audio_root_mono_16k(processor, tmp_path):
    stereo_8k = tone(0.5, rate=8000, channels=2)
    soundfile.write(tmp_path / "stereo.flac", stereo_8k, 8000)
    (loaded,) = processor.load_clips([[user("<|AUDIO|>", {"audio": "stereo.flac", "text": " "})]])[0]
    assert loaded.waveform.ndim == 1 and len(loaded.waveform) == 8000
    assert np.abs(loaded.waveform).max() == pytest.approx(0.3, abs=0.02)


def test_waveform_given_with_its_sample_rate_is_resampled():
    wave = read_audio(tone(1.0, rate=22050), sampling_rate=22050)
    assert len(wave) == 16000 and wave.dtype == np.float32


def test_processor_round_trips_through_save_pretrained(processor, tmp_path):
    processor.save_pretrained(tmp_path / "proc")
    again = DeSTA25Processor.from_pretrained(tmp_path / "proc")
    conversation = [[SYSTEM, user("Describe <|AUDIO|>", clip())]]
    first, second = processor(conversation, ["ok"]), again(conversation, ["ok"])
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert again.placeholder_id == processor.placeholder_id


# ---------------------------------------------------------------------------------------------- bad input
def test_locator_count_must_match_audios(processor):
    with pytest.raises(DeSTAInputError, match=r"conversation 1, message 1: 2 <\|AUDIO\|> locator\(s\) but 1"):
        processor([[user("fine <|AUDIO|>", clip())], [SYSTEM, user("<|AUDIO|> and <|AUDIO|>", clip())]])


def test_unreadable_file_is_named(processor, tmp_path):
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really audio")
    with pytest.raises(DeSTAInputError, match=r"conversation 0, message 0, audio 1 \('broken.wav'\): soundfile cannot"):
        processor([[user("<|AUDIO|><|AUDIO|>", clip(), {"audio": "broken.wav", "text": " "})]])


def test_missing_file_is_named_with_where_it_was_looked_for(processor, tmp_path):
    with pytest.raises(DeSTAInputError, match=r"audio 0 \('gone.wav'\): file not found: .*gone.wav"):
        processor([[user("<|AUDIO|>", {"audio": "gone.wav", "text": " "})]])


def test_empty_clip_is_rejected(processor, tmp_path):
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(DeSTAInputError, match=r"audio 0 \('empty.wav'\): the clip is empty"):
        processor([[user("<|AUDIO|>", {"audio": "empty.wav", "text": " "})]])


def test_too_many_windows_is_rejected(processor):
    with pytest.raises(DeSTAInputError, match=r"audio 0: 61.0 s needs 3 windows .* max_audio_windows=2"):
        processor([[user("<|AUDIO|>", clip(61.0))]])


def test_prompt_beyond_the_llm_positions_is_rejected(processor):
    processor.max_length = 20
    message = r"conversation 0: the prompt is \d+ tokens .* beyond the LLM's 20 positions \(conversation 0, message 0, "
    with pytest.raises(DeSTAInputError, match=message + "audio 0"):
        processor([[user("<|AUDIO|>", clip())]])


def test_missing_transcript_needs_text_or_asr(processor):
    with pytest.raises(DeSTAInputError, match=r"conversation 0, message 0, audio 0: no transcript"):
        processor([[user("<|AUDIO|>", clip(text=None))]])


def test_waveform_without_sample_rate_is_rejected(processor):
    with pytest.raises(DeSTAInputError, match="needs its sample rate"):
        processor([[user("<|AUDIO|>", {"audio": tone(1.0), "text": " "})]])


def test_prompt_plus_response_beyond_the_llm_positions_is_rejected(processor):
    conversation = [user("<|AUDIO|>", clip(text=" "))]
    processor.max_length = processor([conversation], responses=["ok"])["input_ids"].shape[1]
    processor([conversation], responses=["ok"])  # exactly fits
    with pytest.raises(DeSTAInputError, match=r"the prompt is \d+ tokens \(\+ \d+ response tokens\), beyond"):
        processor([conversation], responses=["A dog barks twice."])


def test_response_holding_a_special_token_is_rejected(processor):
    # It would end the labelled turn early, silently training on half the answer.
    with pytest.raises(DeSTAInputError, match="conversation 0: the response contains a special token"):
        processor([[user("<|AUDIO|>", clip())]], responses=["first<|im_end|>second"])


def test_open_file_objects_are_read_so_remote_storage_can_hand_them_in():
    buffer = io.BytesIO()
    soundfile.write(buffer, tone(0.25, rate=8000), 8000, format="WAV")
    buffer.seek(0)
    assert len(read_audio(buffer)) == 4000
