"""Reference-faithful inference on tiny random-weight models: VAD, long-audio modes, batching, bad audio."""

import numpy as np
import pytest

from model import DeSTA25Model
from tasks.evaluate.conditions import CONDITIONS, mismatched_items
from tasks.evaluate.inference import Answerer, as_text, fit_long_audio
from tasks.evaluate.registry import load_suite
from tasks.evaluate.run import RunSettings, difference, run_condition, run_suite
from tasks.evaluate.vad import NO_SPEECH_TRANSCRIPT, has_speech


def test_vad_finds_no_speech_in_a_tone_and_silence():
    t = np.arange(16000) / 16000
    assert not has_speech(np.zeros(16000, dtype=np.float32))
    assert not has_speech((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))


def test_long_audio_modes():
    waveform = np.zeros(16000 * 45, dtype=np.float32)
    assert len(fit_long_audio(waveform, "reference")) == 16000 * 30
    assert len(fit_long_audio(waveform, "windows")) == 16000 * 45
    with pytest.raises(ValueError, match="long_audio"):
        fit_long_audio(waveform, "all")


def test_as_text_puts_the_transcript_where_the_audio_was():
    messages = [{"role": "user", "content": "<|AUDIO|> Who speaks?", "audios": [{"audio": "a.wav"}]}]
    assert as_text(messages, "hello", "<s>", "</s>") == [{"role": "user", "content": "<s>hello</s> Who speaks?"}]


def test_batched_answers_equal_one_by_one(tiny_model, mmau_set):
    suite = load_suite("mmau", data=str(mmau_set))
    items = suite.adapter_instance.read(str(mmau_set))[:3]
    kwargs = {"max_new_tokens": 6, "do_sample": False}
    batched = Answerer(tiny_model, batch_size=3).answer(items, suite.audio_base, kwargs)
    single = Answerer(tiny_model, batch_size=1).answer(items, suite.audio_base, kwargs)
    assert [a.output for a in batched] == [a.output for a in single]
    assert all(a.transcript == NO_SPEECH_TRANSCRIPT for a in batched)  # tones: VAD finds no speech


def test_missing_audio_is_counted_and_reported(tiny_model, mmau_set):
    suite = load_suite("mmau", data=str(mmau_set))
    result = run_suite(suite, tiny_model, ["trained"], RunSettings(batch_size=2, max_new_tokens=4))["trained"]
    assert result.metrics["missing_audio"] == 1 and result.metrics["no_prediction"] == 1
    assert result.metrics["error_examples"][0].startswith("m5: missing audio")
    assert result.metrics["n"] == 4
    record = result.records[0]
    assert record["provenance"]["long_audio"] == "reference" and record["provenance"]["batch_size"] == 2
    assert record["provenance"]["version"] == "v05.15.25" and "im_start" in record["provenance"]["chat_template"]
    assert record["prompt"].startswith("[system] Focus on the audio clips and instructions.")


def test_windows_mode_over_the_window_limit_is_an_unusable_item(base_dirs, tiny_config, mmau_set):
    tiny_config.max_audio_windows = 1
    model = DeSTA25Model.from_config(tiny_config)
    suite = load_suite("mmau", data=str(mmau_set))
    settings = RunSettings(batch_size=4, long_audio="windows", max_new_tokens=3)
    result = run_condition(suite, suite.adapter_instance.read(str(mmau_set)), model, "trained", settings)
    # m4 is 40 s: two windows, beyond max_audio_windows=1; the reference mode keeps its first 30 s instead.
    assert result.metrics["unusable_items"] == 2 and any("m4" in e for e in result.metrics["error_examples"])
    reference = run_condition(suite, suite.adapter_instance.read(str(mmau_set)), model, "trained",
                              RunSettings(batch_size=4, max_new_tokens=3))
    assert reference.metrics["unusable_items"] == 1


def test_mismatched_items_swap_clips_within_a_kind(mmau_set):
    items = load_suite("mmau").adapter_instance.read(str(mmau_set))
    swapped, unmatched = mismatched_items(items, seed=0)
    music = {i.id: i.audio for i in swapped if i.kind == "music"}
    original = {i.id: i.audio for i in items if i.kind == "music"}
    assert all(music[key] != original[key] for key in music) and set(music.values()) == set(original.values())
    assert unmatched == 2  # one sound clip, one speech clip
    assert swapped[2].messages[-1]["audios"] == [{"audio": swapped[2].audio}]


def test_four_conditions_and_the_difference(tiny_model, mmau_set):
    suite = load_suite("mmau", data=str(mmau_set))
    results = run_suite(suite, tiny_model, CONDITIONS, RunSettings(batch_size=4, max_new_tokens=3))
    assert set(results) == set(CONDITIONS)
    text_only = results["text_only"].records[0]["prompt"]
    assert "<waveform" not in text_only and "<|AUDIO|>" not in text_only
    delta = difference(results["trained"].metrics, results["mismatched"].metrics, suite.metrics)
    assert delta["accuracy"] == results["trained"].metrics["accuracy"] - results["mismatched"].metrics["accuracy"]
    assert "task.music" in delta
