"""Ingestion of the user's own corpora from a local folder and from S3, with every bad row reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from tasks.corpus import IngestError, build_corpus
from tasks.manifest import attributes_of
from tasks.params import ParamsError, load_params
from tasks.storage import filesystem

NO_EMBEDDED = {
    "synthetic_speech": {"clips": 0},
    "real_speech": {"asterisk_clips": 0, "alsa_clips": False, "pyannote_call": False},
    "sound": {"recorded_clips": 0, "synthetic_clips": 0},
    "music": {"synthetic_clips": 0, "recorded_clips": 0},
}


def write_user_corpus(root: Path) -> list[dict]:
    """Three clips in three formats and rates (stereo among them) and their metadata rows."""
    root.mkdir(parents=True, exist_ok=True)
    t = np.arange(44100) / 44100
    sf.write(root / "hello.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 44100)
    sf.write(root / "bird.flac", np.stack([0.2 * np.sin(2 * np.pi * 900 * t)] * 2, axis=1), 44100)
    (root / "sub").mkdir(exist_ok=True)
    sf.write(root / "sub" / "tune.ogg", (0.3 * np.sin(2 * np.pi * 440 * t[:22050])).astype(np.float32), 22050)
    return [
        {"path": "hello.wav", "transcript": "hello there", "kind": "speech", "speaker": "ann", "emotion": "happy"},
        {"path": "bird.flac", "transcript": None, "kind": "sound", "speaker": None, "emotion": None},
        {"path": "sub/tune.ogg", "transcript": None, "kind": "music", "speaker": None, "emotion": None},
    ]


def external(params_factory, corpus: dict):
    return params_factory(**NO_EMBEDDED, external=[corpus])


def test_local_folder_with_csv_metadata(small_params, tmp_path):
    rows = write_user_corpus(tmp_path / "mine")
    pd.DataFrame(rows).to_csv(tmp_path / "meta.csv", index=False)
    params = external(small_params, {"name": "mine", "audio_root": str(tmp_path / "mine"),
                                     "metadata": str(tmp_path / "meta.csv"), "kind_column": "kind",
                                     "speaker_column": "speaker", "license": "CC-BY-4.0"})  # fmt: skip
    manifest = build_corpus(params).manifest.set_index("id")
    assert list(manifest.index) == ["mine-000001", "mine-000002", "mine-000003"]
    assert list(manifest["kind"]) == ["speech", "sound", "music"]
    assert manifest.loc["mine-000001", "transcript"] == "hello there"
    assert manifest.loc["mine-000002", "transcript"] == ""
    assert attributes_of(manifest.loc["mine-000001"]) == {"speaker": "ann", "emotion": "happy"}
    assert set(manifest["license"]) == {"CC-BY-4.0"}
    for clip_id, row in manifest.iterrows():
        info = sf.info(str(Path(params.out) / row["path"]))
        assert row["path"] == f"audio/mine/{clip_id}.wav"
        assert (info.samplerate, info.channels) == (16000, 1)
    assert manifest["duration_s"].tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-3)


def test_jsonl_metadata_with_split_column(small_params, tmp_path):
    rows = write_user_corpus(tmp_path / "mine")
    for row, split in zip(rows, ["test", "valid", "test"], strict=True):
        row["split"] = split
    (tmp_path / "meta.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    params = external(small_params, {"name": "jl", "audio_root": str(tmp_path / "mine"),
                                     "metadata": str(tmp_path / "meta.jsonl"), "kind": "sound",
                                     "split_column": "split"})  # fmt: skip
    manifest = build_corpus(params).manifest
    assert manifest["split"].tolist() == ["test", "valid", "test"]
    assert set(manifest["kind"]) == {"sound"}


def bad_corpus(tmp_path: Path) -> dict:
    rows = write_user_corpus(tmp_path / "mine")
    (tmp_path / "mine" / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    rows += [
        {"path": "missing.wav", "kind": "speech"},
        {"path": "broken.wav", "kind": "sound"},
        {"path": "hello.wav", "kind": "podcast"},
        {"path": None, "kind": "speech"},
        {"path": "sub", "kind": "sound"},  # a folder, not a file
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "meta.csv", index=False)
    return {"name": "mine", "audio_root": str(tmp_path / "mine"), "metadata": str(tmp_path / "meta.csv"),
            "kind_column": "kind"}  # fmt: skip


def test_bad_rows_fail_the_build_listing_every_one(small_params, tmp_path):
    with pytest.raises(IngestError) as caught:
        build_corpus(external(small_params, bad_corpus(tmp_path)))
    message = str(caught.value)
    assert "5 bad row(s)" in message
    assert "row 4 (missing.wav)" in message and "not found" in message
    broken = next(p for p in caught.value.problems if p.row == 5)
    assert broken.error.startswith(f"{tmp_path / 'mine' / 'broken.wav'}: cannot decode audio: ")
    assert "readable wav" in broken.fix and "/tmp" not in broken.error.replace(str(tmp_path), "")  # not the copy
    assert "row 6 (hello.wav)" in message and "'podcast'" in message
    assert "row 7 (no path)" in message
    assert f"row 8 (sub): {tmp_path / 'mine' / 'sub'} is a directory, not an audio file" in message
    assert [p.row for p in caught.value.problems] == [4, 5, 6, 7, 8]
    assert not (Path(small_params().out) / "manifest.parquet").exists()


def test_report_mode_keeps_good_rows_and_records_bad_ones(small_params, tmp_path):
    params = external(small_params, {**bad_corpus(tmp_path), "on_error": "report"})
    result = build_corpus(params)
    assert len(result.manifest) == 3 and [p.row for p in result.problems] == [4, 5, 6, 7, 8]
    report = [json.loads(line) for line in (Path(params.out) / "ingest_errors.jsonl").read_text().splitlines()]
    assert [(r["row"], r["path"]) for r in report] == [(4, "missing.wav"), (5, "broken.wav"), (6, "hello.wav"), (7, ""),
                                                     (8, "sub")]
    assert all(r["corpus"] == "mine" and r["fix"] for r in report)


def test_audio_outside_the_root_is_refused_even_through_a_link(small_params, tmp_path):
    rows = write_user_corpus(tmp_path / "mine")
    sf.write(tmp_path / "elsewhere.wav", np.zeros(800, dtype=np.float32) + 0.1, 8000)
    (tmp_path / "mine" / "linked.wav").symlink_to(tmp_path / "elsewhere.wav")
    rows += [
        {"path": "linked.wav", "kind": "sound"},  # decodes fine, but its bytes live outside audio_root
        {"path": "../elsewhere.wav", "kind": "sound"},
        {"path": str(tmp_path / "elsewhere.wav"), "kind": "sound"},
        {"path": str(tmp_path / "mine" / "hello.wav"), "kind": "speech"},  # absolute but inside: fine
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "meta.csv", index=False)
    params = external(small_params, {"name": "mine", "audio_root": str(tmp_path / "mine"), "on_error": "report",
                                     "metadata": str(tmp_path / "meta.csv"), "kind_column": "kind"})  # fmt: skip
    result = build_corpus(params)
    assert len(result.manifest) == 4
    assert [(p.row, p.path) for p in result.problems] == [
        (4, "linked.wav"), (5, "../elsewhere.wav"), (6, str(tmp_path / "elsewhere.wav"))]
    assert "leads outside the data root" in result.problems[0].error and "escapes" in result.problems[1].error
    assert all("keep the audio under audio_root" in p.fix for p in result.problems)


def test_missing_column_is_a_clear_error(small_params, tmp_path):
    write_user_corpus(tmp_path / "mine")
    pd.DataFrame({"file": ["hello.wav"]}).to_csv(tmp_path / "meta.csv", index=False)
    params = external(small_params, {"name": "mine", "audio_root": str(tmp_path / "mine"),
                                     "metadata": str(tmp_path / "meta.csv"), "kind": "speech"})  # fmt: skip
    with pytest.raises(IngestError, match=r"path_column='path' not found .*'file'"):
        build_corpus(params)


@pytest.mark.slow
def test_s3_prefix_with_metadata_on_s3(small_params, tmp_path, s3_env):
    rows = write_user_corpus(tmp_path / "mine")
    pd.DataFrame(rows).to_csv(tmp_path / "mine" / "meta.csv", index=False)
    s3_env.create_bucket("user-corpus")
    fs, _ = filesystem("s3://user-corpus")
    fs.put(str(tmp_path / "mine") + "/", "user-corpus/calls/", recursive=True)
    params = external(small_params, {"name": "s3calls", "audio_root": "s3://user-corpus/calls",
                                     "metadata": "s3://user-corpus/calls/meta.csv", "kind_column": "kind"})  # fmt: skip
    manifest = build_corpus(params).manifest
    assert manifest["kind"].tolist() == ["speech", "sound", "music"]
    assert manifest["duration_s"].tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-3)
    assert all((Path(params.out) / path).is_file() for path in manifest["path"])


@pytest.mark.slow
def test_s3_missing_object_is_reported(small_params, tmp_path, s3_env):
    s3_env.create_bucket("user-gaps")
    fs, _ = filesystem("s3://user-gaps")
    fs.pipe_file("user-gaps/meta.csv", b"path,kind\nnot-there.wav,speech\n")
    params = external(small_params, {"name": "gaps", "audio_root": "s3://user-gaps",
                                     "metadata": "s3://user-gaps/meta.csv", "kind_column": "kind"})  # fmt: skip
    expected = r"row 1 \(not-there.wav\): audio file s3://user-gaps/not-there.wav not found"
    with pytest.raises(IngestError, match=expected):
        build_corpus(params)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("splits", {"train": 0.8, "valid": 0.3, "test": 0.1}, "corpus.splits"),
        ("synthetic_speech", {"clips": -1}, "corpus.synthetic_speech.clips"),
        ("external", [{"name": "x", "audio_root": "d", "metadata": "m.csv"}], "exactly one of `kind`"),
        ("external", [{"name": "bad name", "audio_root": "d", "metadata": "m.csv", "kind": "speech"}],
         "corpus.external.0.name"),
        ("external", [{"name": "x", "audio_root": "d", "metadata": "m.csv", "kind": "speech", "on_error": "skip"}],
         "corpus.external.0.on_error"),
        ("music", {"synthetic_clips": 1, "recorded_clips": 1, "recorded_segment_s": 0}, "recorded_segment_s"),
    ],
)  # fmt: skip
def test_bad_corpus_params_name_the_key(tmp_path, key, value, message):
    settings = yaml.safe_load((Path(__file__).resolve().parents[3] / "params.yaml").read_text())
    settings["corpus"][key] = value
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings))
    with pytest.raises(ParamsError, match=message):
        load_params(tmp_path / "params.yaml")


def test_long_clips_are_cropped_to_max_duration_unless_a_transcript_would_be_cut(small_params, tmp_path):
    root = tmp_path / "long"
    root.mkdir()
    t = np.arange(3 * 16000) / 16000
    for name in ("rain.wav", "talk.wav"):
        sf.write(root / name, (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 16000)
    pd.DataFrame([{"path": "rain.wav", "transcript": None}, {"path": "talk.wav", "transcript": "a long talk"}]
                 ).to_csv(tmp_path / "meta.csv", index=False)
    corpus = {"name": "long", "audio_root": str(root), "metadata": str(tmp_path / "meta.csv"), "kind": "sound",
              "on_error": "report"}
    result = build_corpus(external(small_params, corpus).model_copy(update={"max_duration_s": 2.0}))
    assert result.manifest[["id", "duration_s"]].values.tolist() == [["long-000001", 2.0]]
    [problem] = result.problems
    assert (problem.row, problem.path) == (2, "talk.wav")
    assert "3.0 s, longer than corpus.max_duration_s=2" in problem.error and "transcript" in problem.error
