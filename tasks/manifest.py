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

import pandas as pd

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


def write_manifest(frame: pd.DataFrame, url: str) -> None:
    with atomic_write(url, "wb") as handle:
        frame.to_parquet(handle, index=False)


def read_manifest(url: str) -> pd.DataFrame:
    fs, path = filesystem(url)
    if not fs.exists(path):
        raise FileNotFoundError(f"manifest {url} does not exist; run the corpus stage (dvc repro corpus) first")
    with fs.open(path, "rb") as handle:
        return pd.read_parquet(handle)
