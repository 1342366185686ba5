"""What a stage run leaves behind; one rule for every stage (applied by flows.run_stage):

- A stage's declared outputs (its dvc.yaml `outs` and `metrics`) are all from its last successful run, or
  absent: a failed or killed run never leaves an earlier run's output for a later stage to mistake for
  its own (like `dvc repro`, which deletes a stage's outs before running it).
- Nothing already produced is lost: a run starts by moving (renaming) the previous outputs into
  `.work/previous/<stage>/`; a successful run deletes them there, a failed or killed one leaves them, and
  the next run keeps them while it clears the failed run's leftovers. Put them back by moving them, or
  `dvc checkout <stage>` restores the committed ones from the DVC cache.
- What a failed run wrote to explain the failure (a gate's quarantine, data docs, metrics) stays.
- One run of a stage at a time (an OS lock, tasks.storage.hold_directory).
S3 outputs are deleted, not moved (S3 has no rename); the DVC remote keeps the committed ones.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.params import REPO_ROOT
from tasks.storage import filesystem, hold_directory, is_remote, local_path, write_text

INDEX_NAME = "outputs.json"


def previous_root() -> Path:
    """Where previous outputs wait while a run is in progress (DESTAFLOW_PREVIOUS_DIR: tests isolate it)."""
    return Path(os.environ.get("DESTAFLOW_PREVIOUS_DIR", REPO_ROOT / ".work" / "previous"))


@contextmanager
def stage_outputs(stage: str, urls: list[str]) -> Iterator[Path]:
    """Run a stage inside the rule above; yields the folder holding the previous outputs."""
    root = previous_root()
    previous = root / stage
    with hold_directory(root / ".locks" / stage, f"{stage} run"):
        if previous.exists():  # the last run failed or was killed: what lies at the outputs is its leftovers
            for url in urls:
                _remove(url)
        else:
            _set_aside(urls, previous)
        try:
            yield previous
        except BaseException:
            kept = _kept(previous)
            if kept:
                print(f"{stage} did not finish; the outputs of its last successful run are kept in {previous} "
                      f"({', '.join(kept)}): move them back, or run `dvc checkout {stage}`", file=sys.stderr)
            raise
        shutil.rmtree(previous)


def _set_aside(urls: list[str], previous: Path) -> None:
    previous.mkdir(parents=True)
    kept = {}
    for number, url in enumerate(urls):
        if is_remote(url):
            _remove(url)
        elif local_path(url).exists() or local_path(url).is_symlink():
            kept[url] = f"{number}-{local_path(url).name}"
            shutil.move(local_path(url), previous / kept[url])
    write_text(str(previous / INDEX_NAME), json.dumps(kept, indent=1))


def _kept(previous: Path) -> dict[str, str]:
    try:
        return json.loads((previous / INDEX_NAME).read_text())
    except (OSError, ValueError):  # a run killed while it set the outputs aside
        return {}


def _remove(url: str) -> None:
    if is_remote(url):
        fs, path = filesystem(url)
        if fs.exists(path):
            fs.rm(path, recursive=True)
        return
    path = local_path(url)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
