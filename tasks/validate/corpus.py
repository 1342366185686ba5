"""The corpus gate: a GX suite over the manifest (tasks/manifest.py contract) plus file-level facts.

The manifest is copied into a work frame: contract columns coerced to their types (a value that does
not coerce becomes null and fails its row's not-null check instead of breaking the column; a value of
the wrong type, say a duration stored as text, fails `types_match_contract` even when it coerces), plus
derived columns for what GX cannot compute itself (path safety, the audio probe, parsed attributes,
split indicators). GX evaluates every rule on that frame, so one report holds all of them.
Rows failing a row check are quarantined; the clean output holds the original rows, typed per the contract.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any, Mapping, Sequence

import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
from great_expectations.expectations.row_conditions import Column

from tasks.manifest import COLUMNS, KINDS, SPLITS, conform, read_manifest, type_problems, write_manifest
from tasks.params import ValidateCorpusParams
from tasks.rows import write_rows
from tasks.storage import locate
from tasks.validate.audio import AudioProbe, probe_files
from tasks.validate.checks import Check, GxRun
from tasks.validate.outcome import Outcome, decide

GATE = "validate_corpus"
# Columns every row needs; transcript, attributes and license may be empty.
REQUIRED = ("id", "path", "source", "kind", "duration_s", "sample_rate", "split")
NUMERIC = ("duration_s", "sample_rate")
ATTRIBUTE_PREFIX = "attr__"

# source -> attribute -> allowed values (engineer B's tasks/corpus/labels.py LABEL_SETS has this shape)
LabelSets = Mapping[str, Mapping[str, Sequence[Any]]]


def data_root_of(manifest_url: str) -> str:
    """Manifest paths are relative to the manifest's own folder (tasks/manifest.py)."""
    return posixpath.dirname(manifest_url.rstrip("/")) or "."


# ------------------------------------------------------------------------------------------ work frame
def _numbers(values: pd.Series) -> pd.Series:
    try:
        return pd.to_numeric(values, errors="coerce").astype("float64")
    except (TypeError, ValueError):  # containers or other objects to_numeric refuses outright
        return values.map(_number).astype("float64")


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _attribute_value(value: Any) -> Any:
    """Scalars as they are; lists/objects as canonical JSON so they compare (and fail) as one value."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return value


def _parse_attributes(text: str | None) -> tuple[dict, str | None]:
    if not text:  # no attributes at all is allowed
        return {}, None
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as error:
        return {}, f"not valid JSON: {error}"
    if not isinstance(value, dict):
        return {}, f"not a JSON object (got {type(value).__name__})"
    return value, None


def attribute_column(attribute: str) -> str:
    return ATTRIBUTE_PREFIX + re.sub(r"\W", "_", attribute)


def manifest_frame(manifest: pd.DataFrame, params: ValidateCorpusParams, label_sets: LabelSets,
                   probes: list[AudioProbe | None] | None, path_problems: list[str | None] | None) -> pd.DataFrame:
    """The frame GX validates: coerced contract columns present in `manifest` + derived columns.

    `path_problems`: per row, why its path may not be opened (tasks.storage.locate), None when it may.
    """
    manifest = manifest.reset_index(drop=True)
    frame = pd.DataFrame(index=manifest.index)
    for column in COLUMNS:
        if column in manifest.columns:
            frame[column] = _numbers(manifest[column]) if column in NUMERIC else manifest[column].astype("string")
    if "transcript" in frame:
        frame["transcript"] = frame["transcript"].fillna("")  # contract: "" when nothing is said
    frame["type_problem"] = pd.Series(type_problems(manifest), dtype="string")
    if path_problems is not None:
        frame["path_problem"] = pd.Series(path_problems, dtype="string")
    if probes is not None:
        _add_probe_columns(frame, probes)
    if "attributes" in frame:
        _add_attribute_columns(frame, label_sets)
    if "split" in frame:
        for split in params.split_bounds:
            frame[f"in_{split}"] = (frame["split"] == split).fillna(False).astype("float64")
    return frame


def _add_probe_columns(frame: pd.DataFrame, probes: list[AudioProbe | None]) -> None:
    found = [probe or AudioProbe() for probe in probes]  # None: unsafe path, never opened
    frame["file_missing"] = pd.Series([p.missing for p in found], dtype="string")
    frame["decode_error"] = pd.Series([p.decode_error for p in found], dtype="string")
    frame["file_sample_rate"] = [p.sample_rate for p in found]
    seconds = np.array([p.seconds for p in found], dtype="float64")
    if "duration_s" in frame:
        frame["duration_error_s"] = np.abs(seconds - frame["duration_s"].to_numpy())
    frame["rms_dbfs"] = [p.rms_dbfs for p in found]
    frame["clipped_fraction"] = [p.clipped_fraction for p in found]


def _add_attribute_columns(frame: pd.DataFrame, label_sets: LabelSets) -> None:
    parsed = [_parse_attributes(text) for text in _objects(frame["attributes"])]
    frame["attributes_problem"] = pd.Series([problem for _, problem in parsed], dtype="string")
    labelled = {attribute: [None] * len(frame) for labels in label_sets.values() for attribute in labels}
    for position, (values, _) in enumerate(parsed):
        for attribute, value in values.items():  # a row's own few keys, not every labelled attribute
            if attribute in labelled:
                labelled[attribute][position] = _attribute_value(value)
    for attribute, column in sorted(labelled.items()):
        frame[attribute_column(attribute)] = pd.Series(column, dtype="object")


def _objects(values: pd.Series) -> np.ndarray:
    """Plain Python values with None for missing: iterating an Arrow-backed string column is slow."""
    return values.to_numpy(dtype=object, na_value=None)


def transcribed_sources(frame: pd.DataFrame) -> list[str]:
    """Speech sources that carry transcripts: a row of theirs with an empty transcript lost it."""
    if not {"kind", "source", "transcript"} <= set(frame.columns):
        return []
    speech = frame[(frame["kind"] == "speech").fillna(False) & (frame["transcript"].str.len() > 0)]
    return sorted(speech["source"].dropna().unique().tolist())


# -------------------------------------------------------------------------------------------- the suite
def manifest_checks(frame: pd.DataFrame, params: ValidateCorpusParams, label_sets: LabelSets) -> list[Check]:
    """The suite for `frame`: rules on columns it lacks are left out (required_column reports those)."""
    present = set(frame.columns)
    checks = [Check("required_column", gxe.ExpectColumnToExist(column=column), per_row=False) for column in COLUMNS]
    checks.append(Check("not_empty", gxe.ExpectTableRowCountToBeBetween(min_value=1), per_row=False))
    checks += [
        Check(f"{column}_not_null", gxe.ExpectColumnValuesToNotBeNull(column=column),
              detail=lambda _, column=column: f"{column} is missing or not a valid value")
        for column in REQUIRED if column in present
    ]
    candidates = [
        ("id", Check("id_unique", gxe.ExpectColumnValuesToBeUnique(column="id"),
                     detail=lambda value: f"id {value!r} occurs more than once")),
        ("kind", Check("kind_allowed", gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=list(KINDS)))),
        ("split", Check("split_allowed", gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)))),
        ("duration_s", Check("duration_in_bounds", gxe.ExpectColumnValuesToBeBetween(
            column="duration_s", min_value=params.min_duration_s, max_value=params.max_duration_s))),
        ("sample_rate", Check("sample_rate_expected", gxe.ExpectColumnValuesToBeInSet(
            column="sample_rate", value_set=[params.sample_rate]))),
        ("type_problem", Check("types_match_contract", gxe.ExpectColumnValuesToBeNull(column="type_problem"))),
        ("path_problem", Check("path_inside_root", gxe.ExpectColumnValuesToBeNull(column="path_problem"))),
        ("attributes_problem", Check("attributes_json_object",
                                     gxe.ExpectColumnValuesToBeNull(column="attributes_problem"))),
        ("file_missing", Check("file_exists", gxe.ExpectColumnValuesToBeNull(column="file_missing"),
                               detail=lambda url: f"{url} does not exist")),
        ("decode_error", Check("file_decodes", gxe.ExpectColumnValuesToBeNull(column="decode_error"))),
        ("file_sample_rate", Check("file_sample_rate_matches", gxe.ExpectColumnPairValuesToBeEqual(
            column_A="file_sample_rate", column_B="sample_rate", ignore_row_if="either_value_is_missing"),
            detail=lambda pair: f"file is {pair[0]:g} Hz, manifest says {pair[1]:g} Hz")),
        ("duration_error_s", Check("file_duration_matches", gxe.ExpectColumnValuesToBeBetween(
            column="duration_error_s", max_value=params.duration_tolerance_s),
            detail=lambda error: f"decoded duration differs from duration_s by {error:.3f} s")),
        ("rms_dbfs", Check("not_silent", gxe.ExpectColumnValuesToBeBetween(
            column="rms_dbfs", min_value=params.silence_rms_dbfs),
            detail=lambda level: f"RMS {level:.1f} dBFS is below {params.silence_rms_dbfs:g} dBFS")),
        ("clipped_fraction", Check("not_clipped", gxe.ExpectColumnValuesToBeBetween(
            column="clipped_fraction", max_value=params.max_clipped_fraction),
            detail=lambda share: f"{share:.2%} of samples at full scale (limit {params.max_clipped_fraction:.2%})")),
    ]
    checks += [check for column, check in candidates if column in present]
    checks += _transcript_checks(frame)
    if "attributes_problem" in present and "source" in present:
        checks += _label_checks(label_sets)
    checks += [
        Check("split_fraction", gxe.ExpectColumnMeanToBeBetween(column=f"in_{split}", min_value=low, max_value=high),
              per_row=False)
        for split, (low, high) in params.split_bounds.items() if f"in_{split}" in present
    ]
    return checks


def _transcript_checks(frame: pd.DataFrame) -> list[Check]:
    sources = transcribed_sources(frame)
    if not sources:
        return []
    condition = (Column("kind") == "speech") & Column("source").is_in(sources)
    return [Check("transcript_present",
                  gxe.ExpectColumnValueLengthsToBeBetween(column="transcript", min_value=1, row_condition=condition),
                  detail=lambda _: "empty transcript, but this speech source has transcripts")]


def _label_checks(label_sets: LabelSets) -> list[Check]:
    checks = []
    for source, labels in sorted(label_sets.items()):
        for attribute, allowed in sorted(labels.items()):
            allowed = list(allowed)
            checks.append(Check(
                "attribute_in_label_set",
                gxe.ExpectColumnValuesToBeInSet(column=attribute_column(attribute), value_set=allowed,
                                                row_condition=Column("source") == source),
                detail=lambda value, source=source, attribute=attribute, allowed=allowed:
                    f"{attribute}={value!r} is not in the {source} label set {allowed}"))
    return checks


# --------------------------------------------------------------------------------------------- the gate
def validate_manifest(manifest: pd.DataFrame, params: ValidateCorpusParams, *, data_root: str,
                      label_sets: LabelSets, gx_run: GxRun, probe: bool = True) -> Outcome:
    """Run the corpus suite on `manifest` (files under `data_root` are read when `probe`)."""
    manifest = manifest.reset_index(drop=True)
    located = [locate(data_root, path) for path in manifest["path"]] if "path" in manifest.columns else None
    probes = None
    if probe and located is not None:
        probes = probe_files([url for url, _ in located], params.probe_workers)
    path_problems = None if located is None else [problem for _, problem in located]
    frame = manifest_frame(manifest, params, label_sets, probes, path_problems)
    results = gx_run.validate("manifest", frame, manifest_checks(frame, params, label_sets))
    ids = manifest["id"].tolist() if "id" in manifest.columns else [None] * len(manifest)
    return decide(GATE, results, ids, params.max_failed_fraction)


def run_corpus_gate(params: ValidateCorpusParams, label_sets: LabelSets, gx_run: GxRun) -> Outcome:
    """Validate the manifest at params.manifest and write quarantine + report (+ clean if it passed).

    The input manifest is never modified. Returns the outcome; the caller raises on dataset failures.
    """
    manifest = read_manifest(params.manifest).reset_index(drop=True)
    outcome = validate_manifest(manifest, params, data_root=data_root_of(params.manifest),
                                label_sets=label_sets, gx_run=gx_run)
    rows = manifest.to_dict("records")
    write_rows(params.quarantine, outcome.quarantine_records(rows))
    gx_run.publish(params.report, outcome.banner_html(params.quarantine))
    if outcome.passed:
        # Typed per the contract: every clean row's values fit it (types_match_contract).
        write_manifest(conform(manifest.iloc[outcome.clean_positions].reset_index(drop=True)), params.clean)
    return outcome
