"""Reference-faithful inference on tiny random-weight models: VAD, long-audio modes, batching, bad audio."""

import json

import numpy as np
import pytest
import torch

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
    assert result.errors == [f"m5: missing audio: {mmau_set.parent / 'test-mini-audios' / 'm5.wav'}"]
    assert result.metrics["n"] == 4
    record = result.records[0]
    assert record["provenance"]["long_audio"] == "reference" and record["provenance"]["batch_size"] == 2
    assert record["provenance"]["version"] == "v05.15.25" and "im_start" in record["provenance"]["chat_template"]
    assert record["prompt"].startswith("[system] Focus on the audio clips and instructions.")


def test_audio_linked_from_outside_the_suite_root_is_refused(tiny_model, mmau_set, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    first = mmau_set.parent / json.loads(mmau_set.read_text())[0]["audio_id"]
    first.rename(elsewhere / "clip.wav")
    first.symlink_to(elsewhere / "clip.wav")  # decodes fine, but lives outside the suite's audio root
    suite = load_suite("mmau", data=str(mmau_set))
    result = run_suite(suite, tiny_model, ["trained"], RunSettings(batch_size=2, max_new_tokens=4))["trained"]
    refused = [error for error in result.errors if "audio refused" in error]
    assert len(refused) == 1 and "leads outside the data root" in refused[0]


def test_windows_mode_over_the_window_limit_is_an_unusable_item(base_dirs, tiny_config, mmau_set):
    tiny_config.max_audio_windows = 1
    model = DeSTA25Model.from_config(tiny_config)
    suite = load_suite("mmau", data=str(mmau_set))
    settings = RunSettings(batch_size=4, long_audio="windows", max_new_tokens=3)
    result = run_condition(suite, suite.adapter_instance.read(str(mmau_set)), model, "trained", settings)
    # m4 is 40 s: two windows, beyond max_audio_windows=1; the reference mode keeps its first 30 s instead.
    assert result.metrics["unusable_items"] == 2 and any(e.startswith("m4: model input") for e in result.errors)
    reference = run_condition(suite, suite.adapter_instance.read(str(mmau_set)), model, "trained",
                              RunSettings(batch_size=4, max_new_tokens=3))
    assert reference.metrics["unusable_items"] == 1


def test_mismatched_items_swap_clips_within_a_kind(embedded_corpus):
    items = load_suite("embedded").adapter_instance.read(str(embedded_corpus))
    swapped = mismatched_items(items, seed=0)
    for kind in ("speech", "sound", "music"):
        before = {i.id: i.audio for i in items if i.kind == kind}
        after = {i.id: i.audio for i in swapped if i.kind == kind}
        assert all(after[key] != before[key] for key in before) and set(after.values()) == set(before.values())
    assert all(i.messages[-1]["audios"] == [{"audio": i.audio}] for i in swapped)
    assert [i.reference for i in swapped] == [i.reference for i in items]
    assert [i.transcript_audio for i in swapped] == [i.audio for i in items]


def test_mismatched_items_hear_another_clip_with_their_own_transcript(tiny_model, embedded_corpus):
    suite = load_suite("embedded", data=str(embedded_corpus))
    items = [i for i in suite.adapter_instance.read(str(embedded_corpus)) if i.kind == "speech"]
    answerer = Answerer(tiny_model, batch_size=4)
    answerer.transcript = lambda waveform: str(hash(waveform.tobytes()))  # a stand-in ASR that tells clips apart
    own = [answerer.prepare(item, suite.audio_base) for item in items]
    swapped = [answerer.prepare(item, suite.audio_base) for item in mismatched_items(items, seed=0)]
    assert [a.transcript for a in swapped] == [a.transcript for a in own]
    assert len({a.transcript for a in own}) > 1  # the clips differ, so keeping the transcript is observable
    heard = [a.messages[-1]["audios"][0]["audio"] for a in swapped]
    assert not any(np.array_equal(h, o.messages[-1]["audios"][0]["audio"]) for h, o in zip(heard, own, strict=True))


def test_each_clip_is_transcribed_once_per_suite(tiny_model, embedded_corpus, monkeypatch):
    heard = []
    monkeypatch.setattr(Answerer, "transcript", lambda self, waveform: heard.append(waveform.tobytes()) or " ")
    suite = load_suite("embedded", data=str(embedded_corpus))
    run_suite(suite, tiny_model, ["trained", "mismatched", "untrained"], RunSettings(batch_size=4, max_new_tokens=2))
    clips = {i.audio for i in suite.adapter_instance.read(str(embedded_corpus)) if i.audio}
    assert len(heard) == len(clips) - 1  # once per clip file, not once per condition; one clip is missing


def test_four_conditions_and_the_difference(tiny_model, embedded_corpus):
    suite = load_suite("embedded", data=str(embedded_corpus))
    settings = RunSettings(batch_size=4, max_new_tokens=3)
    results = run_suite(suite, tiny_model, CONDITIONS, settings)
    assert set(results) == set(CONDITIONS)
    delta = difference(results["trained"].metrics, results["mismatched"].metrics, suite.metrics)
    assert delta["accuracy"] == results["trained"].metrics["accuracy"] - results["mismatched"].metrics["accuracy"]
    assert "attribute.gender" in delta
    # Text only reads no audio vectors: another connector gives the very same answers.
    with torch.no_grad():
        tiny_model.connector.proj.weight.add_(1.0)
    again = run_condition(suite, results["trained"].items, tiny_model, "text_only", settings)
    assert [r["output"] for r in again.records] == [r["output"] for r in results["text_only"].records]


def test_multiple_choice_items_are_answered_within_their_own_cap(tiny_model, embedded_corpus, monkeypatch):
    caps = []
    generate = tiny_model.generate

    def recording(conversations, **kwargs):
        caps.extend([kwargs["max_new_tokens"]] * len(conversations))
        return generate(conversations, **{**kwargs, "max_new_tokens": 2})

    monkeypatch.setattr(tiny_model, "generate", recording)
    suite = load_suite("embedded", data=str(embedded_corpus))
    result = run_condition(suite, suite.adapter_instance.read(str(embedded_corpus)), tiny_model, "trained",
                           RunSettings(batch_size=4))
    spoken = [r for r in result.records if r["id"].endswith("/transcription") and not r["error"]]
    chosen = [r for r in result.records if not r["id"].endswith("/transcription") and not r["error"]]
    assert sorted(caps) == sorted([24] * len(chosen) + [96] * len(spoken)) and spoken and chosen
    assert {r.get("max_new_tokens") for r in chosen} == {24}
