"""Finished rows as shards in a work directory, so a killed run resumes where it stopped.

Layout: <work_dir>/<fingerprint>/shard-00000.jsonl, shard-00001.jsonl, ... The fingerprint hashes
everything that determines the rows' content (requests, generator, sampling), so changed inputs or
params never reuse stale rows. Each shard holds rows in the order they finished and is written
atomically, so a shard file is either complete or absent; resuming skips every id already in a shard.
DVC deletes a stage's outs before running it, which is why shards live outside the outs.

One run at a time per work directory (`work_dir_lock`): a second run fails at once naming the first.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tasks.rows import dumps_rows, parse_rows
from tasks.storage import hold_directory, write_text

SHARD_GLOB = "shard-*.jsonl"


def work_dir_lock(work_dir: str | Path):
    """Hold the work directory for one generate run (DirectoryBusy names the other run)."""
    return hold_directory(work_dir, "generate run")


def fingerprint(inputs: dict) -> str:
    """A short stable digest of JSON-serialisable inputs."""
    blob = json.dumps(inputs, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class ShardStore:
    def __init__(self, work_dir: str | Path, key: str, inputs: dict | None = None):
        self.dir = Path(work_dir) / key
        self.dir.mkdir(parents=True, exist_ok=True)
        if inputs is not None:
            # For people: what this directory was generated from.
            write_text(str(self.dir / "inputs.json"), json.dumps(inputs, indent=1, sort_keys=True))

    def shard_paths(self) -> list[Path]:
        return sorted(self.dir.glob(SHARD_GLOB))

    def read_all(self) -> list[dict]:
        """Every finished row once. An identical copy (two runs before the lock existed) is skipped; two
        different rows with one id are corruption and raise."""
        rows, seen = [], {}
        for path in self.shard_paths():
            with open(path, "rb") as handle:
                for row in parse_rows(handle, str(path)):
                    if row["id"] not in seen:
                        seen[row["id"]] = (path, row)
                        rows.append(row)
                    elif seen[row["id"]][1] != row:
                        raise ValueError(f"row {row['id']!r} differs between {seen[row['id']][0]} and {path}; "
                                         f"delete one of the two shards (or {self.dir}) to regenerate it")
        return rows

    def done_ids(self) -> set[str]:
        return {row["id"] for row in self.read_all()}

    def write_shard(self, rows: list[dict]) -> Path:
        existing = self.shard_paths()
        number = int(existing[-1].stem.split("-")[1]) + 1 if existing else 0
        path = self.dir / f"shard-{number:05d}.jsonl"
        write_text(str(path), dumps_rows(rows))
        return path


class ShardWriter:
    """Collects finished rows and writes a shard every `shard_rows` rows (and the rest on flush)."""

    def __init__(self, store: ShardStore, shard_rows: int):
        self.store, self.shard_rows, self.pending = store, shard_rows, []

    def add(self, row: dict) -> None:
        self.pending.append(row)
        if len(self.pending) >= self.shard_rows:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.store.write_shard(self.pending)
            self.pending = []
