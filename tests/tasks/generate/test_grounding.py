"""The grounding metric: attribute answers judged against the value their seed description gives."""

from __future__ import annotations

import json

import pytest

from tasks.generate.prompts import Prompt
from tasks.generate.seed import default_wording
from tasks.generate.grounding import described_values, grounding_report, judge, main

POOL = [Prompt("g1", "speech", "gender_question", "Is the speaker male or female?"),
        Prompt("v1", "speech", "volume_question", "How loud is the speaker?"),
        Prompt("a1", "speech", "accent_question", "Which accent do you hear?"),
        Prompt("c1", "sound_music", "category_question", "Name the sound you hear."),
        Prompt("n1", "music", "notes_question", "Which notes are played?"),
        Prompt("d1", "speech", "description", "Describe the clip.")]

SPEECH = ("[00:00-00:03] Turn left at the corner. (Gender: Female, Accent: British English (Received "
          "Pronunciation), Pitch: High, Speaking speed: Slow, Volume: Normal, Duration: 3s)")


def row(prompt_id: str, response: str, seed_description: str = SPEECH) -> dict:
    return {"prompt_id": prompt_id, "response": response, "seed_description": seed_description}


def test_described_values_read_each_name_up_to_the_next_label():
    assert described_values(SPEECH, "Gender") == {"Female"}
    assert described_values(SPEECH, "Accent") == {"British English (Received Pronunciation)"}
    assert described_values(SPEECH, "Volume") == {"Normal"}
    assert described_values(SPEECH, "Instrument") == set()
    call = "[00:00-00:04] hi (Speaker: A, Gender: Female)\n[00:04-00:08] yes (Speaker: B, Gender: Male)\n(Duration: 8s)"
    assert described_values(call, "Gender") == {"Female", "Male"}


@pytest.mark.parametrize(("attribute", "value", "answer", "outcome"), [
    ("gender", "Female", "The speaker is a woman with a clear voice.", "grounded"),
    ("gender", "Female", "She sounds calm.", "grounded"),
    ("gender", "Male", "The speaker is female.", "contradicted"),  # "male" inside "female" is no match
    ("gender", "Female", "It could be male or female.", "hedged"),
    ("gender", "Female", "The voice is clear and calm.", "ignored"),
    ("volume", "Normal", "The speech is faint.", "contradicted"),
    ("volume", "Quiet", "The speaker talks softly.", "grounded"),
    ("pitch", "High", "A high-pitched voice.", "grounded"),
    ("pitch", "Low", "A deep voice.", "grounded"),
    ("volume", "Quiet", "The voice was quiet, it wasn't loud at all.", "grounded"),
    ("gender", "Female", "A woman, not a man.", "grounded"),
    ("gender", "Female", "He is not a woman.", "contradicted"),
])
def test_enumerated_values_use_synonyms_and_competitors(attribute, value, answer, outcome):
    assert judge(answer, default_wording().of(attribute), value) == outcome


@pytest.mark.parametrize(("value", "answer", "outcome"), [
    ("dog bark", "A dog is barking loudly.", "grounded"),
    ("dog bark", "A dog is heard.", "ignored"),  # every content word must be there
    ("F4", "A mix of musical scales.", "ignored"),
    ("C4 E4 G4", "The notes are C4, E4 and G4.", "grounded"),
    ("frequency sweep", "A rising frequency sweep.", "grounded"),
])
def test_free_text_values_need_every_content_word(value, answer, outcome):
    assert judge(answer, default_wording().of("category"), value) == outcome


def test_report_counts_only_rows_whose_prompt_asks_for_a_described_value():
    rows = [row("g1", "The speaker is a woman."), row("g1", "A man speaks."), row("v1", "Faint speech."),
            row("a1", "A British accent."), row("d1", "A woman says turn left."),  # description: not counted
            row("n1", "C4."),  # the description gives no notes: not counted
            row("c1", "A dog barking.", "[00:00-00:02] (Audio category: dog bark, Duration: 2s)")]
    report = grounding_report(rows, POOL)
    assert (report["attribute_rows"], report["grounded"], report["contradicted"]) == (5, 3, 2)
    assert report["rate"] == 0.6
    assert report["by_attribute"]["Gender"] == {"rows": 2, "grounded": 1, "rate": 0.5, "contradicted": 1,
                                                "hedged": 0, "ignored": 0}
    assert set(report["by_attribute"]) == {"Gender", "Volume", "Accent", "Audio category"}


def test_no_attribute_rows_gives_no_rate():
    assert grounding_report([row("d1", "Anything.")], POOL)["rate"] is None


def test_command_line_prints_the_table_and_json(tmp_path, capsys):
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(vars(prompt)) + "\n" for prompt in POOL))
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({**row("g1", "A woman."), "id": "x", "messages": [{"role": "user", "content": "q"}],
                                "response": "A woman."}) + "\n")
    main([str(rows), "--pool", str(pool)])
    out = capsys.readouterr().out
    assert "| Gender | 1 | 1 (100%) |" in out and json.loads(out.splitlines()[-1])["rate"] == 1.0
