"""Finished rows as shards in a work directory, so a killed run resumes where it stopped.

Layout: <work_dir>/<fingerprint>/shard-00000.jsonl, shard-00001.jsonl, ... The fingerprint hashes
everything that determines the rows' content (requests, generator, sampling), so changed inputs or
params never reuse stale rows. Each shard holds rows in the order they finished and is written
atomically, so a shard file is either complete or absent; resuming skips every id already in a shard.
DVC deletes a stage's outs before running it, which is why shards live outside the outs.

One run at a time per work directory: `work_dir_lock` holds an OS file lock (released by the kernel
when the holder dies, even by SIGKILL) and records who holds it, so a second run fails naming the holder.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from tasks.rows import dumps_rows, parse_rows
from tasks.storage import write_text

SHARD_GLOB = "shard-*.jsonl"
LOCK_NAME = ".lock"
HOLDER_NAME = ".lock-holder.json"


class WorkDirBusy(RuntimeError):
    """Another run holds the work directory; the message names it (pid, host, start time, command)."""


@contextmanager
def work_dir_lock(work_dir: str | Path) -> Iterator[None]:
    """Hold `work_dir` for this run; raise WorkDirBusy at once if another process holds it."""
    directory = Path(work_dir)
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(directory / LOCK_NAME, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise WorkDirBusy(
            f"{directory} is in use by another generate run ({_holder(directory)}): two runs would write the "
            "same rows; wait for it to finish or stop it, then run again (finished rows are kept)") from None
    holder = directory / HOLDER_NAME
    try:
        # The lock file itself holds no text (filelock owns it): who holds it lives beside it.
        write_text(str(holder), json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}, sort_keys=True))
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def _holder(directory: Path) -> str:
    try:
        record = json.loads((directory / HOLDER_NAME).read_text())
    except (OSError, ValueError):
        return "holder not recorded yet"
    return f"pid {record['pid']} on {record['host']}, started {record['started']}: {record['command']}"


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
            with open(path, encoding="utf-8") as handle:
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
