"""The corpus gate on real audio files: each deliberate defect lands in quarantine under its check name;
dataset-level problems stop the gate; outputs never lose a row and never touch the input."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.manifest import COLUMNS, conform, read_manifest, to_frame, type_problems, write_manifest
from tasks.validate.checks import GxRun
from tasks.validate.corpus import data_root_of, run_corpus_gate, validate_manifest
from tasks.validate.outcome import DataQualityError
from tests.tasks.validate.gate_helpers import LABELS, clean_rows, corpus_params, manifest_row, speech_row


def quarantined_by_id(outcome) -> dict[str, set[str]]:
    return {outcome.label(p)["id"]: set(outcome.failed_checks(p)) for p in outcome.quarantined_positions}


def clean_ids(outcome) -> set[str]:
    return {outcome.label(p)["id"] for p in outcome.clean_positions}


def run_gate(rows_or_frame, corpus_root, gx_run, **params):
    root, _ = corpus_root
    frame = rows_or_frame if isinstance(rows_or_frame, pd.DataFrame) else to_frame(rows_or_frame)
    return validate_manifest(frame, corpus_params(**params), data_root=str(root), label_sets=LABELS, gx_run=gx_run)


def test_clean_corpus_passes_with_nothing_quarantined(corpus_root, gx_run):
    _, durations = corpus_root
    rows = clean_rows(20, durations["audio/speech.wav"])
    outcome = run_gate(rows, corpus_root, gx_run)
    assert outcome.passed, outcome.dataset_failures
    assert outcome.failures == {}
    assert clean_ids(outcome) == {row["id"] for row in rows}


def test_each_broken_row_is_quarantined_under_exactly_its_checks(corpus_root, gx_run):
    root, durations = corpus_root
    speech_seconds = durations["audio/speech.wav"]
    good = clean_rows(20, speech_seconds)
    broken = {
        "truncated-audio": (manifest_row(0, "audio/truncated.wav"), {"file_duration_matches"}),
        "corrupt-audio": (manifest_row(0, "audio/corrupt.wav"), {"file_decodes"}),
        "missing-file": (manifest_row(0, "audio/not_there.wav"), {"file_exists"}),
        "file-at-8k": (manifest_row(0, "audio/rate8k.wav"), {"file_sample_rate_matches"}),
        "declared-8k": (manifest_row(0, sample_rate=8000), {"sample_rate_expected", "file_sample_rate_matches"}),
        "nan-duration": (manifest_row(0, duration_s=math.nan), {"duration_s_not_null"}),
        "negative-duration": (manifest_row(0, duration_s=-1.0), {"duration_in_bounds", "file_duration_matches"}),
        "unknown-label": (manifest_row(0, attributes={"category": "robot", "waveform": "sine"}),
                          {"attribute_in_label_set"}),
        "escapes-root": (manifest_row(0, "../outside.wav"), {"path_inside_root"}),
        "absolute-path": (manifest_row(0, str(root.parent / "outside.wav")), {"path_inside_root"}),
        "silent-audio": (manifest_row(0, "audio/silent.wav"), {"not_silent"}),
        "clipped-audio": (manifest_row(0, "audio/clipped.wav"), {"not_clipped"}),
        "unknown-kind": (manifest_row(0, kind="noise"), {"kind_allowed"}),
        "lost-transcript": (speech_row(0, speech_seconds, transcript=""), {"transcript_present"}),
        "attributes-not-json": (manifest_row(0, attributes="{oops"), {"attributes_json_object"}),
    }
    rows = good + [dict(row, id=name) for name, (row, _) in broken.items()]
    rows += [manifest_row(100, id="twice"), manifest_row(101, id="twice")]
    outcome = run_gate(rows, corpus_root, gx_run)

    expected = {name: checks for name, (_, checks) in broken.items()} | {"twice": {"id_unique"}}
    assert quarantined_by_id(outcome) == expected
    assert clean_ids(outcome) == {row["id"] for row in good}
    assert len(outcome.quarantined_positions) == len(broken) + 2  # both duplicates
    # 17 of 37 rows fail: far above max_failed_fraction, so the dataset stops, naming checks and rows.
    with pytest.raises(DataQualityError) as error:
        outcome.raise_if_failed()
    message = str(error.value)
    assert "max_failed_fraction=0.05" in message and "17 of 37 rows" in message
    assert "file_decodes (expect_column_values_to_be_null): 1 rows, e.g. row_index=" in message
    assert "id=corrupt-audio" in message


def test_details_say_what_is_wrong(corpus_root, gx_run):
    rows = [manifest_row(0, "audio/rate8k.wav"), manifest_row(1, "../outside.wav"),
            manifest_row(2, attributes={"category": "robot", "waveform": "sine"})]
    outcome = run_gate(rows, corpus_root, gx_run)
    details = {outcome.label(p)["id"]: outcome.failures[p][0]["detail"] for p in outcome.quarantined_positions}
    assert details == {
        "clip-0000": "file is 8000 Hz, manifest says 16000 Hz",
        "clip-0001": "'../outside.wav' escapes the data root",
        "clip-0002": "category='robot' is not in the sox-sound label set ['pure tone', 'noise']",
    }


def test_a_link_out_of_the_root_is_quarantined_and_never_opened(corpus_root, gx_run):
    root, durations = corpus_root
    rows = clean_rows(20, durations["audio/speech.wav"])
    rows[0] = dict(rows[0], path="audio/linked_outside.wav")  # decodes fine, but lives outside the root
    rows[2] = dict(rows[2], path="audio/linked_inside.wav")  # a link to a file inside: fine
    outcome = run_gate(rows, corpus_root, gx_run, max_failed_fraction=0.1)
    assert quarantined_by_id(outcome) == {"clip-0000": {"path_inside_root"}}
    detail = outcome.failures[0][0]["detail"]
    assert detail == f"'audio/linked_outside.wav' leads outside the data root {root} (links followed)"
    assert outcome.passed


def test_values_of_the_wrong_type_are_quarantined_even_when_they_coerce(corpus_root, gx_run):
    _, durations = corpus_root
    frame = to_frame(clean_rows(20, durations["audio/speech.wav"])).astype(object)
    frame.at[0, "id"] = 7  # an integer id
    frame.at[2, "duration_s"] = "1.0"  # a duration as text: it would coerce and pass the bounds
    frame.at[4, "sample_rate"] = True
    frame.at[6, "sample_rate"] = 16000.0  # an integral float fits an int column (pandas widens around nulls)
    frame.at[8, "duration_s"] = 1  # an int fits a float column
    outcome = run_gate(frame, corpus_root, gx_run, max_failed_fraction=0.2)
    assert quarantined_by_id(outcome) == {  # True reads as 1 Hz as well
        7: {"types_match_contract"}, "clip-0002": {"types_match_contract"},
        "clip-0004": {"types_match_contract", "sample_rate_expected", "file_sample_rate_matches"}}
    details = [failure["detail"] for p in outcome.quarantined_positions for failure in outcome.failures[p]
               if failure["check"] == "types_match_contract"]
    assert details == ["id=7 is int, not string", "duration_s='1.0' is str, not float64",
                       "sample_rate=True is bool, not int64"]
    assert outcome.passed


def test_a_column_stored_with_the_wrong_type_stops_the_gate_and_writes_no_clean(corpus_root, tmp_path):
    root, durations = corpus_root
    frame = to_frame(clean_rows(10, durations["audio/speech.wav"]))
    frame["duration_s"] = frame["duration_s"].map(str)  # durations as strings, ids as integers
    frame["id"] = range(len(frame))
    manifest = root / "manifest-wrong-types.parquet"
    write_manifest(frame, str(manifest))
    params = corpus_params(manifest=str(manifest), clean=str(tmp_path / "clean.parquet"),
                           quarantine=str(tmp_path / "quarantine.jsonl"), report=str(tmp_path / "report"))
    with GxRun() as gx_run:
        outcome = run_corpus_gate(params, LABELS, gx_run)
    assert not outcome.passed and not (tmp_path / "clean.parquet").exists()
    assert all(outcome.failed_checks(p) == ["types_match_contract"] for p in range(10))
    assert outcome.failures[0][0]["detail"] == "id=0 is int, not string; duration_s='1.0' is str, not float64"
    assert "types_match_contract (expect_column_values_to_be_null): 10 rows" in outcome.dataset_failures[0]


def test_clean_output_follows_the_contract_types(corpus_root, tmp_path):
    root, durations = corpus_root
    frame = to_frame(clean_rows(10, durations["audio/speech.wav"]))
    frame["sample_rate"] = frame["sample_rate"].astype("float64")  # integral floats: fit, written as int64
    frame["duration_s"] = frame["duration_s"].astype("float32")
    manifest = root / "manifest-widened.parquet"
    write_manifest(frame, str(manifest))
    params = corpus_params(manifest=str(manifest), clean=str(tmp_path / "clean.parquet"),
                           quarantine=str(tmp_path / "quarantine.jsonl"), report=str(tmp_path / "report"))
    with GxRun() as gx_run:
        assert run_corpus_gate(params, LABELS, gx_run).failures == {}
    clean = read_manifest(params.clean)
    assert {column: str(clean[column].dtype) for column in ("duration_s", "sample_rate")} == {
        "duration_s": "float64", "sample_rate": "int64"}
    assert clean["sample_rate"].tolist() == [16000] * 10


def test_missing_column_is_a_dataset_failure_naming_it(corpus_root, gx_run):
    _, durations = corpus_root
    frame = to_frame(clean_rows(10, durations["audio/speech.wav"])).drop(columns=["duration_s"])
    outcome = run_gate(frame, corpus_root, gx_run)
    assert not outcome.passed
    assert outcome.failures == {}  # nothing row-level could be blamed on a missing column
    assert any(m.startswith("required_column (expect_column_to_exist) failed") and '"duration_s"' in m
               for m in outcome.dataset_failures)


def test_split_proportions_outside_bounds_stop_the_gate(corpus_root, gx_run):
    _, durations = corpus_root
    rows = [dict(row, split="train") for row in clean_rows(10, durations["audio/speech.wav"])]
    outcome = run_gate(rows, corpus_root, gx_run)
    assert outcome.failures == {}
    failures = [m for m in outcome.dataset_failures if m.startswith("split_fraction")]
    # valid and test are empty; train (1.0) is above its 0.95 bound too
    assert [m.split("observed ")[1].split(",")[0] for m in failures] == ["1.0", "0.0", "0.0"]
    assert ['"column": "in_train"' in failures[0], '"column": "in_valid"' in failures[1]] == [True, True]
    assert len(outcome.dataset_failures) == 3


def test_failed_fraction_at_or_below_the_limit_passes_and_quarantines(corpus_root, gx_run):
    _, durations = corpus_root
    rows = clean_rows(10, durations["audio/speech.wav"])
    rows[2] = dict(rows[2], path="audio/silent.wav")
    assert run_gate(rows, corpus_root, gx_run, max_failed_fraction=0.1).passed
    outcome = run_gate(rows, corpus_root, gx_run, max_failed_fraction=0.05)
    assert quarantined_by_id(outcome) == {"clip-0002": {"not_silent"}}
    assert "1 of 10 rows (10.00%) failed" in outcome.dataset_failures[0]


def test_empty_manifest_is_a_dataset_failure(corpus_root, gx_run):
    outcome = run_gate(to_frame([]), corpus_root, gx_run)
    assert any(m.startswith("not_empty") for m in outcome.dataset_failures)


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_corpus_gate_writes_clean_quarantine_and_report_and_keeps_the_input(corpus_root, tmp_path):
    root, durations = corpus_root
    rows = clean_rows(20, durations["audio/speech.wav"])
    rows[2] = dict(rows[2], path="audio/corrupt.wav")
    manifest = root / "manifest-gate-test.parquet"
    write_manifest(to_frame(rows), str(manifest))
    before = _sha256(manifest)
    params = corpus_params(manifest=str(manifest), clean=str(tmp_path / "clean.parquet"),
                           quarantine=str(tmp_path / "q" / "quarantine.jsonl"), report=str(tmp_path / "report"),
                           max_failed_fraction=0.1)

    with GxRun() as gx_run:  # its own context: the report holds this run only
        outcome = run_corpus_gate(params, LABELS, gx_run)

    assert outcome.passed and _sha256(manifest) == before
    clean = read_manifest(params.clean)
    assert list(clean.columns) == list(COLUMNS) and len(clean) == 19
    assert "clip-0002" not in set(clean["id"])
    records = [json.loads(line) for line in (tmp_path / "q" / "quarantine.jsonl").read_text().splitlines()]
    assert [(r["row_index"], r["id"], [c["check"] for c in r["checks"]]) for r in records] == [
        (2, "clip-0002", ["file_decodes"])]
    assert records[0]["row"]["path"] == "audio/corrupt.wav" and records[0]["row"]["duration_s"] == 1.0
    assert (tmp_path / "report" / "index.html").is_file()
    assert any((tmp_path / "report" / "validations").rglob("*.html"))


def test_a_failing_dataset_writes_no_clean_output(corpus_root, tmp_path):
    _, durations = corpus_root
    rows = clean_rows(10, durations["audio/speech.wav"])
    manifest = tmp_path / "manifest.parquet"
    write_manifest(to_frame(rows), str(manifest))
    params = corpus_params(manifest=str(manifest), clean=str(tmp_path / "clean.parquet"),
                           quarantine=str(tmp_path / "quarantine.jsonl"), report=str(tmp_path / "report"))
    # Paths are relative to the manifest's folder, which has no audio here: every file is missing.
    with GxRun() as gx_run:  # its own context: the report holds this run only
        outcome = run_corpus_gate(params, LABELS, gx_run)
    assert data_root_of(str(manifest)) == str(tmp_path)
    assert not outcome.passed and not (tmp_path / "clean.parquet").exists()
    records = [json.loads(line) for line in (tmp_path / "quarantine.jsonl").read_text().splitlines()]
    assert [r["row_index"] for r in records] == list(range(10))
    assert all([c["check"] for c in r["checks"]] == ["file_exists"] for r in records)


# ------------------------------------------------------------------------------------ property-based
CORRUPT_VALUES = [None, math.nan, -1.0, math.inf, 0, 123, "", " ", "../outside.wav", "/etc/passwd",  # system-path: test data
                  "audio/corrupt.wav", "audio/missing.wav", "audio/silent.wav", "audio/truncated.wav",
                  "{bad json", "[1, 2]", '{"category": "robot"}', "speech", "valid", "sox-sound", "clip-0001"]
corruption = st.one_of(
    st.tuples(st.just("cell"), st.integers(0, 9), st.sampled_from(list(COLUMNS)),
              st.one_of(st.sampled_from(CORRUPT_VALUES), st.text(max_size=8), st.floats())),
    st.tuples(st.just("drop_column"), st.sampled_from(list(COLUMNS))),
    st.tuples(st.just("duplicate_row"), st.integers(0, 9)),
    # A whole column of another type: numbers as text (durations stored as strings), text as integers.
    st.tuples(st.just("as_text"), st.sampled_from(list(COLUMNS))),
    st.tuples(st.just("as_integers"), st.sampled_from(list(COLUMNS))),
)


def corrupt(frame: pd.DataFrame, operations) -> pd.DataFrame:
    frame = frame.astype(object)
    for operation in operations:
        if operation[0] == "cell":
            _, row, column, value = operation
            if column in frame.columns and row < len(frame):
                frame.at[row, column] = value
        elif operation[0] == "drop_column":
            frame = frame.drop(columns=[operation[1]], errors="ignore")
        elif operation[0] in ("as_text", "as_integers"):
            if operation[1] in frame.columns:
                frame[operation[1]] = (frame[operation[1]].map(str) if operation[0] == "as_text"
                                       else list(range(len(frame))))
        else:
            frame = pd.concat([frame, frame.iloc[[operation[1] % len(frame)]]], ignore_index=True)
    return frame


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=st.lists(corruption, min_size=1, max_size=6))
def test_random_corruption_never_crashes_and_never_loses_a_row(operations, corpus_root, gx_run):
    _, durations = corpus_root
    frame = corrupt(to_frame(clean_rows(10, durations["audio/speech.wav"])), operations)

    outcome = run_gate(frame, corpus_root, gx_run)

    clean, quarantined = set(outcome.clean_positions), set(outcome.quarantined_positions)
    assert clean | quarantined == set(range(len(frame))) and not clean & quarantined
    # Every clean row fits the contract's types, so the clean output can always be typed per the contract.
    typed = conform(frame.iloc[sorted(clean)])
    assert all(typed[c].dtype == pd.api.types.pandas_dtype(kind) for c, kind in COLUMNS.items() if c in typed)
    assert not any(type_problems(frame.iloc[sorted(clean)]))
    rows = frame.to_dict("records")
    for record in outcome.quarantine_records(rows):
        assert record["checks"] and json.loads(json.dumps(record, allow_nan=False)) == record
    json.dumps(outcome.metrics(), allow_nan=False)
    assert outcome.summary_markdown().startswith("# validate_corpus")
    if not outcome.passed:
        with pytest.raises(DataQualityError):
            outcome.raise_if_failed()


def test_corruption_helper_changes_the_frame():
    frame = to_frame([manifest_row(n) for n in range(3)])
    changed = corrupt(frame, [("cell", 1, "duration_s", np.nan), ("drop_column", "license"), ("duplicate_row", 0),
                              ("as_text", "sample_rate"), ("as_integers", "id")])
    assert len(changed) == 4 and "license" not in changed and math.isnan(changed.at[1, "duration_s"])
    assert changed["sample_rate"].tolist() == ["16000"] * 4 and changed["id"].tolist() == [0, 1, 2, 3]


@pytest.mark.slow
def test_corpus_gate_reads_and_writes_s3(corpus_root, s3_env):
    from tasks.storage import filesystem

    root, durations = corpus_root
    rows = clean_rows(20, durations["audio/speech.wav"])
    rows[2] = dict(rows[2], path="audio/corrupt.wav")
    rows[4] = dict(rows[4], path="audio/only_local.wav")
    s3_env.create_bucket("corpus")
    fs, _ = filesystem("s3://corpus")
    for name in ["tone_0.wav", "tone_1.wav", "tone_2.wav", "tone_3.wav", "speech.wav", "corrupt.wav"]:
        fs.put(str(root / "audio" / name), f"corpus/data/audio/{name}")
    write_manifest(to_frame(rows), "s3://corpus/data/manifest.parquet")
    params = corpus_params(manifest="s3://corpus/data/manifest.parquet", clean="s3://corpus/data/clean.parquet",
                           quarantine="s3://corpus/data/quarantine.jsonl", report="s3://corpus/data/validation",
                           max_failed_fraction=0.1)
    with GxRun() as gx_run:
        outcome = run_corpus_gate(params, LABELS, gx_run)

    assert outcome.passed
    assert quarantined_by_id(outcome) == {"clip-0002": {"file_decodes"}, "clip-0004": {"file_exists"}}
    assert len(read_manifest(params.clean)) == 18
    with fs.open("corpus/data/quarantine.jsonl", "r") as handle:
        assert [json.loads(line)["id"] for line in handle] == ["clip-0002", "clip-0004"]
    assert fs.exists("corpus/data/validation/index.html")
