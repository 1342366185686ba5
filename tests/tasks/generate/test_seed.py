from __future__ import annotations

import json

import pytest

from tasks.generate.seed import load_wording, render_seed_description


def row(kind="speech", transcript="", duration=4.2, **attributes):
    return {"id": f"{kind}-1", "kind": kind, "transcript": transcript, "duration_s": duration,
            "attributes": json.dumps(attributes)}


def test_speech_shows_transcript_and_voice_attributes_in_wording_order():
    text = render_seed_description(row(transcript="Please close the window.", volume="loud", gender="female",
                                       speed="slow", pitch="high"))
    assert text == ("[00:00-00:04] Please close the window. (Gender: Female, Pitch: High, Speaking speed: Slow, "
                    "Volume: Loud, Duration: 4s)")


def test_sound_has_no_transcript_only_its_category():
    text = render_seed_description(row(kind="sound", duration=5.0, category="dog bark"))
    assert text == "[00:00-00:05] (Audio category: dog bark, Duration: 5s)"


def test_music_lists_notes_space_separated_and_units():
    text = render_seed_description(row(kind="music", duration=3.0, instrument="plucked string",
                                       notes=["C4", "E4", "G4"], tempo_bpm=96))
    assert text == "[00:00-00:03] (Instrument: plucked string, Notes: C4 E4 G4, Tempo: 96 BPM, Duration: 3s)"


def test_noisy_speech_mentions_the_background_and_snr():
    text = render_seed_description(row(transcript="Hi.", gender="male", noise="pink noise", snr_db=5))
    assert "Background noise: pink noise, SNR: 5 dB" in text


def test_multi_speaker_clip_has_one_line_per_turn_then_clip_attributes():
    segments = [{"start": 0.0, "end": 3.6, "speaker": "A", "transcript": "Hello, who is this?", "gender": "female"},
                {"start": 3.9, "end": 7.2, "speaker": "B", "transcript": "It's me."}]
    text = render_seed_description(row(transcript="Hello, who is this? It's me.", duration=7.5,
                                       segments=segments, noise="white noise", snr_db=10))
    assert text.splitlines() == [
        "[00:00-00:04] Hello, who is this? (Speaker: A, Gender: Female)",
        "[00:03-00:07] It's me. (Speaker: B)",
        "(Background noise: white noise, SNR: 10 dB, Duration: 8s)",
    ]


def test_unknown_keys_render_generically_and_bookkeeping_keys_do_not_render():
    text = render_seed_description(row(kind="sound", duration=0.5, recording_place="kitchen", speaker="espeak-ng:m3",
                                       transcript_source="whisper-tiny.en", pitch_setting=50))
    assert text == "[00:00-00:01] (Recording place: kitchen, Duration: 0.5s)"


def test_short_turns_keep_a_visible_span():
    segments = [{"start": 7.2, "end": 7.6, "speaker": "Diane", "transcript": "Hello?"}]
    assert render_seed_description(row(segments=segments)).splitlines()[0] == "[00:07-00:08] Hello? (Speaker: Diane)"


def test_wording_is_data_a_new_file_renames_keys_and_values(tmp_path):
    wording_file = tmp_path / "wording.yaml"
    wording_file.write_text("attributes:\n  gender: {name: Sex, values: {female: woman}}\n")
    text = render_seed_description(row(transcript="Hi.", gender="female"), load_wording(wording_file))
    assert text == "[00:00-00:04] Hi. (Sex: woman, Duration: 4s)"


def test_bad_wording_and_bad_attributes_name_the_problem(tmp_path):
    wording_file = tmp_path / "wording.yaml"
    wording_file.write_text("attributes:\n  gender: {name: Sex, colour: red}\n")
    with pytest.raises(ValueError, match="attributes.gender.*colour"):
        load_wording(wording_file)
    broken = {**row(), "attributes": "{not json"}
    with pytest.raises(ValueError, match="manifest row 'speech-1': attributes is not valid JSON"):
        render_seed_description(broken)
    with pytest.raises(ValueError, match=r"segments\[0\] needs numeric `start` and `end`"):
        render_seed_description(row(segments=[{"speaker": "A"}]))
