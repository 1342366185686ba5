from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tasks.generate.shards import ShardStore, ShardWriter, fingerprint, work_dir_lock
from tasks.storage import DirectoryBusy


def rows(*ids):
    return [{"id": row_id, "messages": [], "response": row_id} for row_id in ids]


def test_writer_cuts_shards_of_the_given_size_and_flushes_the_rest(tmp_path):
    store = ShardStore(tmp_path, "key", {"inputs": 1})
    writer = ShardWriter(store, shard_rows=2)
    for row in rows("c", "a", "b"):
        writer.add(row)
    assert [p.name for p in store.shard_paths()] == ["shard-00000.jsonl"]
    writer.flush()
    assert [p.name for p in store.shard_paths()] == ["shard-00000.jsonl", "shard-00001.jsonl"]
    assert store.done_ids() == {"a", "b", "c"}
    assert (store.dir / "inputs.json").exists()


def test_a_resumed_store_numbers_new_shards_after_the_existing_ones(tmp_path):
    ShardStore(tmp_path, "key").write_shard(rows("a"))
    again = ShardStore(tmp_path, "key")
    again.write_shard(rows("b"))
    assert [p.name for p in again.shard_paths()] == ["shard-00000.jsonl", "shard-00001.jsonl"]
    assert [row["id"] for row in again.read_all()] == ["a", "b"]


def test_an_id_with_two_different_rows_is_reported_not_silently_duplicated(tmp_path):
    store = ShardStore(tmp_path, "key")
    store.write_shard(rows("a", "b"))
    store.write_shard([{"id": "b", "messages": [], "response": "another answer"}])
    with pytest.raises(ValueError, match="'b' differs between .*shard-00000.jsonl and .*shard-00001.jsonl"):
        store.read_all()


def test_identical_copies_left_by_two_older_runs_do_not_block_resume(tmp_path):
    store = ShardStore(tmp_path, "key")
    store.write_shard(rows("a", "b"))
    store.write_shard(rows("b", "c"))
    assert [row["id"] for row in store.read_all()] == ["a", "b", "c"]
    assert store.done_ids() == {"a", "b", "c"}


def test_leftover_temporary_files_of_a_killed_write_are_ignored(tmp_path):
    store = ShardStore(tmp_path, "key")
    (store.dir / ".shard-00000.jsonl.tmp-123").write_text('{"id": "partial')
    assert store.read_all() == []


def test_fingerprint_is_stable_and_sensitive():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


HOLD = """
import sys
from tasks.generate.shards import work_dir_lock
with work_dir_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def holding_process(work_dir):
    """Another real process that holds `work_dir` until its stdin closes."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(work_dir)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_second_process_is_refused_naming_the_holder_until_it_ends(tmp_path):
    holder = holding_process(tmp_path / "work")
    try:
        with pytest.raises(DirectoryBusy) as busy, work_dir_lock(tmp_path / "work"):
            pass
        message = str(busy.value)
        assert f"pid {holder.pid} on {socket.gethostname()}, started 20" in message
        assert "in use by another generate run" in message and str(tmp_path / "work") in message
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    with work_dir_lock(tmp_path / "work"):  # free again once the holder ended
        assert f'"pid": {os.getpid()}' in (tmp_path / "work" / ".lock-holder.json").read_text()
    assert not (tmp_path / "work" / ".lock-holder.json").exists()


def test_a_killed_holder_frees_the_work_dir(tmp_path):
    holder = holding_process(tmp_path / "work")
    holder.kill()
    holder.wait(timeout=30)
    with work_dir_lock(tmp_path / "work"):
        pass
