"""Atomic outputs: on a real full disk (a 1 MiB tmpfs) or any failure mid-write, the previous output stays
whole, no temporary file stays behind, and the error names the output."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import publish_stage
from tasks.rows import read_rows, write_rows
from tasks.generate.shards import ShardStore
from tasks.manifest import read_manifest, write_manifest
from tasks.storage import OutputWriteError, atomic_write, filesystem, replace_dir, write_text
from tests.disk import SMALL_DISK_BYTES, small_disk  # noqa: F401 (fixture)


def incompressible_text(size: int, seed: int = 0) -> str:
    return np.random.default_rng(seed).bytes(size // 2).hex()


def big_frame(size: int) -> pd.DataFrame:
    return pd.DataFrame({"id": ["a"], "blob": [incompressible_text(size)]})


def only_file(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# Each writer: (write a small previous output, write one too big for the disk, read it back).
WRITERS = {
    "manifest parquet": (lambda url, size: write_manifest(big_frame(size), url),
                         lambda url: read_manifest(url)["blob"][0]),
    "rows jsonl": (lambda url, size: write_rows(url, [{"id": "a", "messages": [], "response": incompressible_text(size)}]),
                   lambda url: read_rows(url)[0]["response"]),
    "text": (lambda url, size: write_text(url, incompressible_text(size)), lambda url: Path(url).read_text()),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_full_disk_leaves_the_previous_output_whole_and_no_temporary_file(small_disk, writer):
    write, read = WRITERS[writer]
    url = str(small_disk / "output")
    write(url, 100_000)
    previous = read(url)
    with pytest.raises(OutputWriteError, match=f"cannot write {url}: No space left on device") as failure:
        write(url, 2 * SMALL_DISK_BYTES)
    assert failure.value.errno == errno.ENOSPC
    assert read(url) == previous
    assert only_file(small_disk) == ["output"]


def test_metrics_of_a_stage_are_written_atomically(small_disk, monkeypatch):
    import prefect.artifacts

    monkeypatch.setattr(prefect.artifacts, "create_markdown_artifact", lambda *args, **kwargs: None)
    metrics = small_disk / "metrics" / "stage.json"
    publish_stage({"rows": 1}, str(metrics), "summary", "key", "description")
    with pytest.raises(OutputWriteError, match=str(metrics)):
        publish_stage({"blob": incompressible_text(2 * SMALL_DISK_BYTES)}, str(metrics), "summary", "key", "d")
    assert json.loads(metrics.read_text()) == {"rows": 1}
    assert only_file(metrics.parent) == ["stage.json"]


def test_a_shard_that_does_not_fit_is_not_left_half_written(small_disk):
    store = ShardStore(small_disk / "work", "key")
    store.write_shard([{"id": "a", "messages": [], "response": "short"}])
    with pytest.raises(OutputWriteError, match="shard-00001.jsonl"):
        store.write_shard([{"id": "b", "messages": [], "response": incompressible_text(2 * SMALL_DISK_BYTES)}])
    assert [row["id"] for row in store.read_all()] == ["a"]
    assert only_file(store.dir) == ["shard-00000.jsonl"]


def test_a_folder_that_does_not_fit_leaves_the_previous_folder_whole(small_disk, tmp_path):
    report = small_disk / "report"
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    (old / "index.html").write_text("old report")
    new.mkdir()
    (new / "index.html").write_text("new report")
    (new / "big.bin").write_text(incompressible_text(2 * SMALL_DISK_BYTES))
    replace_dir(old, str(report))
    with pytest.raises(OutputWriteError, match=str(report)):
        replace_dir(new, str(report))
    assert only_file(report) == ["index.html"] and (report / "index.html").read_text() == "old report"
    assert only_file(small_disk) == ["report"]
    (new / "big.bin").unlink()
    replace_dir(new, str(report))
    assert (report / "index.html").read_text() == "new report"
    assert only_file(small_disk) == ["report"]


def test_an_error_inside_the_block_keeps_the_previous_file(tmp_path):
    url = str(tmp_path / "clean.jsonl")
    write_text(url, "previous\n")
    with pytest.raises(KeyError), atomic_write(url) as handle:
        handle.write("half of the new")
        raise KeyError("bug")
    assert Path(url).read_text() == "previous\n"
    assert only_file(tmp_path) == ["clean.jsonl"]


def test_new_outputs_follow_the_umask_not_a_private_temp_mode(tmp_path):
    url = tmp_path / "out.txt"
    write_text(str(url), "x")
    umask = os.umask(0)
    os.umask(umask)
    assert url.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.slow
def test_an_s3_output_appears_only_complete(s3_env):
    s3_env.create_bucket("outputs")
    url = "s3://outputs/data/clean.parquet"
    write_manifest(big_frame(1000), url)
    previous = read_manifest(url)
    with pytest.raises(RuntimeError), atomic_write(url, "wb") as handle:
        handle.write(b"PAR1 half a file")
        raise RuntimeError("killed midway")
    pd.testing.assert_frame_equal(read_manifest(url), previous)
    fs, path = filesystem("s3://outputs/data")
    assert fs.ls(path, refresh=True) == ["outputs/data/clean.parquet"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(previous=st.text(), new=st.text(min_size=1), cut=st.floats(0.0, 1.0), binary=st.booleans())
def test_a_write_stopped_at_any_point_keeps_the_previous_content(tmp_path, previous, new, cut, binary):
    url = str(tmp_path / "output")
    write_text(url, previous)
    part = new[: int(len(new) * cut)]
    with pytest.raises(RuntimeError), atomic_write(url, "wb" if binary else "w") as handle:
        handle.write(part.encode() if binary else part)
        raise RuntimeError("stopped midway")
    assert Path(url).read_bytes() == previous.encode()
    assert only_file(tmp_path) == ["output"]
