"""The embedded corpus: deterministic from the seed, follows the manifest contract and the label sets,
splits keep speakers and recordings apart."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import pytest
import soundfile as sf

from tasks import system_files
from tasks.corpus import LABEL_SETS, IngestError, build_corpus, corpus_fingerprint, summarize
from tasks.manifest import COLUMNS, KINDS, SPLITS, attributes_of, read_manifest


def test_same_seed_gives_identical_manifest_and_audio(small_params, tmp_path):
    first = build_corpus(small_params(), out=str(tmp_path / "a"))
    second = build_corpus(small_params(), out=str(tmp_path / "b"))
    assert first.manifest.equals(second.manifest)
    assert corpus_fingerprint(str(tmp_path / "a")) == corpus_fingerprint(str(tmp_path / "b"))


def test_another_seed_gives_another_corpus(small_params, tmp_path):
    build_corpus(small_params(), out=str(tmp_path / "a"))
    build_corpus(small_params(seed=1234), out=str(tmp_path / "b"))
    assert corpus_fingerprint(str(tmp_path / "a")) != corpus_fingerprint(str(tmp_path / "b"))


def test_manifest_follows_the_contract(small_params):
    params = small_params()
    result = build_corpus(params)
    manifest = read_manifest(str(Path(params.out) / "manifest.parquet"))
    assert list(manifest.columns) == list(COLUMNS)
    assert manifest["id"].is_unique and list(manifest["id"]) == sorted(manifest["id"])
    assert set(manifest["kind"]) == set(KINDS) and set(manifest["split"]) <= set(SPLITS)
    assert len(manifest) == len(result.manifest) == summarize(result)["clips"]
    for row in manifest.itertuples():
        assert not row.path.startswith(("/", "..")) and row.path == f"audio/{row.source}/{row.id}.wav"
        info = sf.info(str(Path(params.out) / row.path))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert abs(info.duration - row.duration_s) < 1e-3
        assert 0.2 <= row.duration_s <= params.max_duration_s
        assert row.license
        assert isinstance(json.loads(row.attributes), dict)
        if row.kind == "speech":
            assert row.transcript.strip(), row.id


def test_counts_follow_params(small_params):
    params = small_params()
    counts = summarize(build_corpus(params))["clips_per_source"]
    assert counts["espeak-ng"] + counts["flite"] == params.synthetic_speech.clips
    assert counts["asterisk"] == params.real_speech.asterisk_clips
    assert counts["sox-sound"] == params.sound.synthetic_clips
    assert counts["sox-music"] == params.music.synthetic_clips


def test_every_categorical_attribute_is_in_its_source_label_set(small_params):
    manifest = build_corpus(small_params()).manifest
    for _, row in manifest.iterrows():
        label_set = LABEL_SETS[row["source"]]
        for attribute, value in attributes_of(row).items():
            if attribute in label_set:
                assert value in label_set[attribute], (row["id"], attribute, value)


def test_noisy_fraction_and_recorded_snr(small_params):
    manifest = build_corpus(small_params()).manifest
    noisy = [attributes_of(row) for _, row in manifest.iterrows() if "snr_db" in attributes_of(row)]
    eligible = manifest["source"].isin(["espeak-ng", "flite", "asterisk", "alsa"]) & (manifest["kind"] == "speech")
    assert len(noisy) == round(0.3 * eligible.sum())
    assert all(a["snr_db"] in (5.0, 10.0) and a["noise"].endswith(" noise") for a in noisy)


def test_splits_are_speaker_disjoint(small_params):
    manifest = build_corpus(small_params(synthetic_speech={"clips": 60})).manifest
    split_of_speaker: dict[str, set[str]] = {}
    for _, row in manifest[manifest["source"] == "espeak-ng"].iterrows():
        split_of_speaker.setdefault(attributes_of(row)["speaker"], set()).add(row["split"])
    assert all(len(splits) == 1 for splits in split_of_speaker.values())
    assert {"train", "valid", "test"} <= set(manifest["split"])


def test_pyannote_call_has_turns_within_the_clip(small_params):
    manifest = build_corpus(small_params(max_duration_s=12.0)).manifest
    call = attributes_of(manifest.set_index("id").loc["pyannote-sample"])
    assert call["num_speakers"] == 2 and call["speakers"] == ["Diane", "Sheila"]
    assert call["segments"] and all(0 <= turn["start"] < turn["end"] <= 12.0 for turn in call["segments"])
    assert manifest.set_index("id").loc["pyannote-sample", "duration_s"] == 12.0


def test_a_failed_build_keeps_the_previous_corpus(small_params, tmp_path):
    params = small_params()
    build_corpus(params)
    before = corpus_fingerprint(params.out)
    bad = small_params(external=[{"name": "mine", "audio_root": str(tmp_path), "metadata": str(tmp_path / "none.csv"),
                                  "kind": "speech"}])  # fmt: skip
    with pytest.raises(IngestError, match="none.csv does not exist"):
        build_corpus(bad)
    assert corpus_fingerprint(params.out) == before
    assert not [p for p in Path(params.out).iterdir() if p.name.startswith(".staging")]


@pytest.mark.slow
def test_build_into_an_s3_prefix(small_params, tmp_path, s3_env):
    s3_env.create_bucket("corpus-out")
    local = build_corpus(small_params(), out=str(tmp_path / "local"))
    remote = build_corpus(small_params(), out="s3://corpus-out/corpus")
    assert remote.manifest.equals(local.manifest)
    assert corpus_fingerprint("s3://corpus-out/corpus") == corpus_fingerprint(str(tmp_path / "local"))


@pytest.mark.slow
def test_prompts_missing_from_the_package_list_are_transcribed_by_whisper(small_params, tmp_path, monkeypatch):
    # Another release of the prompts than the list describes: the list names none of them.
    other_release = tmp_path / "core-sounds-en.txt.gz"
    with gzip.open(other_release, "wt") as handle:
        handle.write("; prompts of another release\nnot-a-prompt-here: Hello.\n")
    monkeypatch.setattr(system_files, "ASTERISK_PROMPT_LIST",
                        dataclasses.replace(system_files.ASTERISK_PROMPT_LIST, path=other_release))
    params = small_params(
        synthetic_speech={"clips": 0},
        real_speech={"asterisk_clips": 2, "alsa_clips": False, "pyannote_call": False},
        sound={"recorded_clips": 0, "synthetic_clips": 0},
        music={"synthetic_clips": 0, "recorded_clips": 0},
        augmentation={"noisy_fraction": 0.0, "snr_db": [5.0]},
    )
    manifest = build_corpus(params, cache_dir=tmp_path / "cache").manifest
    assert len(manifest) == 2
    assert all(attributes_of(row)["transcript_source"] == "whisper-tiny.en" for _, row in manifest.iterrows())
    assert all(len(text.split()) >= 1 for text in manifest["transcript"])
    assert (tmp_path / "cache" / "transcripts" / "whisper-tiny.en.json").is_file()
