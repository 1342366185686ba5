"""The corpus manifest: one row per clip, the contract between corpus, validation and generation.

Columns (Parquet):
  id           str    unique, stable across rebuilds with the same seed (e.g. "synth_speech-000042")
  path         str    audio file relative to the manifest's directory (never absolute, never "../")
  source       str    where the clip comes from (e.g. "espeak-ng", "asterisk", "freedesktop", "sox-music")
  kind         str    "speech" | "sound" | "music"
  duration_s   float  seconds
  sample_rate  int    Hz (16000 for everything the corpus stage writes)
  transcript   str    what is said ("" when nothing is said)
  attributes   str    JSON object: the metadata the seed description renders (gender, pitch, category,
                      notes, segments for multi-speaker turns, snr_db ...)
  split        str    "train" | "valid" | "test"
  license      str    SPDX-like id or a short licence name
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa

from tasks.storage import atomic_write, filesystem

COLUMNS: dict[str, str] = {
    "id": "string",
    "path": "string",
    "source": "string",
    "kind": "string",
    "duration_s": "float64",
    "sample_rate": "int64",
    "transcript": "string",
    "attributes": "string",
    "split": "string",
    "license": "string",
}
KINDS = ("speech", "sound", "music")
SPLITS = ("train", "valid", "test")


def attributes_of(row) -> dict:
    """The decoded `attributes` object of a manifest row (dict-like or pandas Series)."""
    return json.loads(row["attributes"]) if row["attributes"] else {}


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows (attributes as dicts or JSON strings) -> a manifest frame sorted by id, typed per COLUMNS."""
    records = []
    for row in rows:
        record = {column: row.get(column) for column in COLUMNS}
        if isinstance(record["attributes"], dict):
            record["attributes"] = json.dumps(record["attributes"], sort_keys=True, ensure_ascii=False)
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    return frame.astype(COLUMNS).sort_values("id", ignore_index=True)


def fits_type(value, kind: str) -> bool:
    """Does `value` hold `kind` (a COLUMNS type) without loss? Nulls fit (the not-null rules judge them).

    Text is text only (a number where an id or path belongs means another producer's file); a float
    column takes ints, an int column takes integral floats (a column pandas widened around a null);
    booleans are never numbers.
    """
    if value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return True
    if kind == "string":
        return isinstance(value, str)
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and (kind == "float64" or float(value).is_integer())


def _all_fit(dtype, kind: str) -> bool:
    """Every value of a column of `dtype` fits `kind` (no need to look at each one)."""
    if kind == "string":
        return isinstance(dtype, pd.StringDtype)
    numeric = pd.api.types.is_integer_dtype(dtype) or (kind == "float64" and pd.api.types.is_float_dtype(dtype))
    return numeric and not pd.api.types.is_bool_dtype(dtype)


def type_problems(frame: pd.DataFrame) -> list[str | None]:
    """Per row, the contract columns whose value has another type (e.g. `duration_s='2.5' is str, not float64`)."""
    problems: list[list[str]] = [[] for _ in range(len(frame))]
    for column, kind in COLUMNS.items():
        if column not in frame.columns or _all_fit(frame[column].dtype, kind):
            continue
        for position, value in enumerate(frame[column].to_numpy(dtype=object)):
            if not fits_type(value, kind):
                problems[position].append(f"{column}={value!r} is {type(value).__name__}, not {kind}")
    return ["; ".join(found) if found else None for found in problems]


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its contract columns cast to the contract's types (every value must fit: see type_problems)."""
    typed = frame.astype({column: kind for column, kind in COLUMNS.items() if column in frame.columns})
    if "transcript" in typed:
        typed["transcript"] = typed["transcript"].fillna("")  # contract: "" when nothing is said
    return typed


def write_manifest(frame: pd.DataFrame, url: str) -> None:
    with atomic_write(url, "wb") as handle:
        frame.to_parquet(handle, index=False)


class ManifestError(ValueError):
    """A manifest that is missing or cannot be read as Parquet; the message names the file and the fix."""


def read_manifest(url: str) -> pd.DataFrame:
    fs, path = filesystem(url)
    if not fs.exists(path):
        raise ManifestError(f"manifest {url} does not exist; run the corpus stage (dvc repro corpus) first")
    if fs.isdir(path):
        raise ManifestError(f"manifest {url} is a directory, not a Parquet file; point the setting at the file")
    try:
        with fs.open(path, "rb") as handle:
            return pd.read_parquet(handle)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise ManifestError(f"manifest {url} is not a readable Parquet file ({error}); rebuild it with "
                            "`dvc repro corpus` or point the setting at the manifest") from None
