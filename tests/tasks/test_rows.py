from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from tasks.rows import ROW_SCHEMA, read_rows, response_flags, schema_problem, training_messages, write_rows

RELEASE_SAMPLE = Path(__file__).parent / "data" / "desta_aqa5m_sample.jsonl"
SEED = "[00:00-00:04] Hello there. (Gender: Female, Pitch: High, Duration: 4s)"
INSTRUCTION = "Describe the speaker and what they say."
SYSTEM = "Focus on the audio clips and instructions."


def flags(response, finish_reason="stop"):
    return response_flags(response, finish_reason, SEED, INSTRUCTION, SYSTEM)


def test_a_real_answer_has_no_flags():
    assert flags("A woman with a high voice greets the listener by saying hello.") == []


def test_empty_and_truncated_answers_are_flagged():
    assert flags("   ") == ["empty"]
    assert flags("The speaker says", finish_reason="length") == ["truncated"]


def test_refusal_phrases_are_flagged_case_and_apostrophe_insensitively():
    phrases = ["i'm sorry", "as an ai"]
    for refusal in ("I’m sorry, I cannot hear audio.", "AS AN AI, I have no ears."):
        assert response_flags(refusal, "stop", SEED, INSTRUCTION, SYSTEM, phrases) == ["refusal"]
    assert response_flags("The speaker sounds sorry.", "stop", SEED, INSTRUCTION, SYSTEM, phrases) == []


@pytest.mark.parametrize("echo", [
    "[00:00-00:04] Hello there.",  # the description's timestamp
    "She speaks (Gender: Female, Pitch: High, Duration: 4s).",  # its attribute block
    "<|im_start|>assistant\nHello",  # chat-template tokens
    "Sure! Describe the speaker and what they say: a woman says hello.",  # the instruction itself
    "focus on the audio clips and instructions. ok",  # the system prompt
])
def test_template_and_seed_echoes_are_flagged(echo):
    assert flags(echo) == ["template_echo"]


def test_quoting_the_transcript_is_not_an_echo():
    assert flags('The speaker says "Hello there." in a high voice.') == []


def test_training_messages_hold_the_audio_locator_and_a_space_for_no_transcript():
    messages = training_messages(SYSTEM, "<|AUDIO|>", "Describe the sound.", "audio/dog.wav", "")
    assert messages[1] == {"role": "user", "content": "<|AUDIO|>\nDescribe the sound.",
                           "audios": [{"audio": "audio/dog.wav", "text": " "}]}


def test_public_release_rows_load_unchanged():
    rows = read_rows(str(RELEASE_SAMPLE))
    assert rows == [json.loads(line) for line in RELEASE_SAMPLE.read_text().splitlines()]
    assert all("<|AUDIO|>" in row["messages"][1]["content"] for row in rows)


def test_write_then_read_round_trips_and_is_sorted_as_given(tmp_path):
    rows = read_rows(str(RELEASE_SAMPLE))
    out = tmp_path / "sub" / "rows.jsonl"
    write_rows(str(out), rows)
    assert read_rows(str(out)) == rows
    assert not [p for p in out.parent.iterdir() if p.name != "rows.jsonl"]  # no temporary file left


def test_bad_rows_name_file_and_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"messages": [], "response": "ok"}\n{"messages": []}\n')
    with pytest.raises(ValueError, match=r"rows.jsonl:2: missing response"):
        read_rows(str(path))
    path.write_text('{"messages": [{"role": "user"}], "response": "ok"}\n')
    with pytest.raises(ValueError, match=r"rows.jsonl:1: messages must be"):
        read_rows(str(path))


def test_public_release_rows_are_readable_but_lack_our_provenance():
    row = read_rows(str(RELEASE_SAMPLE))[0]
    assert schema_problem(row).startswith("row: ") and "is a required property" in schema_problem(row)


def test_schema_names_where_a_row_breaks_it():
    row = {"id": "a-1", "dataset": "destaflow", "kind": "speech", "split": "train", "prompt": "Describe.",
           "prompt_id": "p1", "generator": {"model": "m"}, "finish_reason": "stop", "flags": [],
           "response": "A dog barks.",
           "messages": [{"role": "user", "content": "<|AUDIO|>\nDescribe.", "audios": [{"audio": "a.wav"}]}]}
    assert schema_problem(row) == "messages/0/audios/0: 'text' is a required property"
    row["messages"][0]["audios"][0]["text"] = " "
    assert schema_problem(row) is None
    assert set(ROW_SCHEMA["required"]) >= {"messages", "response"}  # a valid row is always readable


def test_bytes_that_are_not_utf8_name_file_and_line_and_a_bom_is_ignored(tmp_path):
    path = tmp_path / "rows.jsonl"
    good = b'{"messages": [], "response": "ok"}\n'
    path.write_bytes(codecs.BOM_UTF8 + good + b'{"messages": [], "response": "caf\xe9"}\n')
    with pytest.raises(ValueError, match=r"rows.jsonl:2: not valid UTF-8: byte 0xe9 at byte 34 .*re-encode"):
        read_rows(str(path))
    path.write_bytes(codecs.BOM_UTF8 + good)
    assert read_rows(str(path)) == [{"messages": [], "response": "ok"}]
    path.write_bytes(good + b'{"messages": [], "response": "\\udc80"}\n')
    with pytest.raises(ValueError, match=r"rows.jsonl:2: not valid JSON .*unpaired surrogate"):
        read_rows(str(path))
