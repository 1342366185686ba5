"""Model-library options the train stage and the baselines use: text-only prompts, cached encoder states,
masking the padding states, Whisper outside autocast."""

from __future__ import annotations

import torch

from tests.model.desta_helpers import SYSTEM, clip, user


def conversations():
    return [[SYSTEM, user("What is it? <|AUDIO|>", clip(1.0, text="hello world"))],
            [user("And this? <|AUDIO|>", clip(2.5, text="a dog barks"))]]


def test_text_only_leaves_the_audio_vectors_out_and_keeps_the_transcript(tiny_model):
    processor = tiny_model.processor
    with_audio = processor(conversations(), responses=["yes", "no"])
    text_only = processor(conversations(), responses=["yes", "no"], audio_vectors=False)
    assert "input_features" not in text_only
    assert int((text_only["input_ids"] == processor.placeholder_id).sum()) == 0
    per_row = (with_audio["input_ids"] == processor.placeholder_id).sum(dim=1)
    assert per_row.tolist() == [tiny_model.config.num_queries] * 2
    # Exactly the placeholders are gone: same transcript, prompt and labelled response.
    for row in range(2):
        kept = with_audio["input_ids"][row][with_audio["attention_mask"][row] == 1]
        kept = kept[kept != processor.placeholder_id]
        assert kept.tolist() == text_only["input_ids"][row][text_only["attention_mask"][row] == 1].tolist()
    assert tiny_model(**text_only).loss.isfinite()
    assert tiny_model.generate(conversations()[0], audio_vectors=False, max_new_tokens=3).texts


def test_cached_tapped_states_give_the_loss_of_log_mel_input(tiny_model):
    batch = tiny_model.processor(conversations(), responses=["yes", "no"])
    tapped = tiny_model.encode_windows(batch["input_features"])
    from_features = tiny_model(**batch).loss
    cached = {k: v for k, v in batch.items() if k != "input_features"}
    assert torch.equal(tiny_model(**cached, tapped_states=tapped).loss, from_features)


def test_masking_the_padding_states_equals_cropping_them_away(tiny_model):
    tiny_model.processor.mask_padding_frames = True
    batch = tiny_model.processor(conversations(), responses=["yes", "no"])
    frames = batch["audio_frames"]
    assert frames.tolist() == [50, 125]  # 1 s and 2.5 s: one encoder state per 20 ms
    tapped = tiny_model.encode_windows(batch["input_features"])
    masked = tiny_model.audio_embeddings(tapped_states=tapped, audio_frames=frames)
    for window, count in enumerate(frames.tolist()):
        cropped = tiny_model.audio_embeddings(tapped_states=tapped[:, window : window + 1, :count])
        torch.testing.assert_close(masked[window], cropped[0], rtol=1e-5, atol=1e-6)
    # The padding changes what an unmasked connector reads.
    assert not torch.allclose(tiny_model.audio_embeddings(tapped_states=tapped), masked)


def test_whisper_runs_in_float32_under_bf16_autocast(tiny_model):
    features = tiny_model.processor(conversations())["input_features"]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tapped = tiny_model.encode_windows(features)
    assert tapped.dtype == torch.float32
    assert torch.equal(tapped, tiny_model.encode_windows(features))


def test_qformer_dropout_is_active_in_training_only(tiny_model):
    tapped = tiny_model.encode_windows(tiny_model.processor(conversations())["input_features"])
    tiny_model.train()
    assert tiny_model.config.qformer_dropout == 0.1
    assert not torch.equal(tiny_model.audio_embeddings(tapped_states=tapped),
                           tiny_model.audio_embeddings(tapped_states=tapped))
    tiny_model.eval()
    assert torch.equal(tiny_model.audio_embeddings(tapped_states=tapped), tiny_model.audio_embeddings(tapped_states=tapped))
