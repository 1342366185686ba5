"""The embedded suite built from a corpus test split."""

import pytest

from tasks.evaluate.registry import load_suite


def test_questions_from_the_test_split(embedded_corpus):
    suite = load_suite("embedded", data=str(embedded_corpus))
    items = suite.adapter_instance.read(str(embedded_corpus))
    by_id = {item.id: item for item in items}
    assert not any(key.startswith("t1/") for key in by_id)  # train split left out
    assert {key.split("/")[1] for key in by_id if key.startswith("s2/")} == {
        "gender", "pitch", "speed", "volume", "accent", "num_speakers", "transcription"}
    accent = by_id["s2/accent"]
    assert accent.reference["answer"] in accent.reference["choices"] and len(accent.reference["choices"]) == 4
    assert by_id["s1/gender"].reference["choices"] in (["female", "male"], ["male", "female"])
    content = by_id["n1/category"].messages[-1]["content"]
    assert content.startswith("<|AUDIO|> What sound is this?\nThe answer could be: \"")
    assert by_id["m1/pattern"].reference["answer"] == "chord" and by_id["m1/pattern"].kind == "music"
    assert by_id["s1/transcription"].messages[0]["content"].endswith("Respond directly without any other words.")
    # Options are seeded: the same suite gives the same items again.
    again = suite.adapter_instance.read(str(embedded_corpus))
    assert [i.reference for i in again] == [i.reference for i in items]


def test_scores_with_chance_and_wer(embedded_corpus):
    embedded = load_suite("embedded", data=str(embedded_corpus)).adapter_instance
    items = {item.id: item for item in embedded.read(str(embedded_corpus))}
    records = [embedded.record(items["s1/gender"], "female"), embedded.record(items["s2/gender"], "female"),
               embedded.record(items["m1/pattern"], "A chord."),
               embedded.record(items["s1/transcription"], "Hello, there!"),
               embedded.record(items["s2/transcription"], "good evening")]
    metrics = embedded.summarize(records)
    assert metrics["by_attribute"]["gender"] == {"accuracy": 50.0, "chance": 50.0, "n": 2}
    assert metrics["by_attribute"]["pattern"] == {"accuracy": 100.0, "chance": pytest.approx(100 / 3), "n": 1}
    assert metrics["accuracy"] == pytest.approx(200 / 3) and metrics["wer"] == 25.0 and metrics["wer_items"] == 2
