from __future__ import annotations

import pytest

from tasks.generate.shards import ShardStore, ShardWriter, fingerprint


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


def test_a_row_in_two_shards_is_reported_not_silently_duplicated(tmp_path):
    store = ShardStore(tmp_path, "key")
    store.write_shard(rows("a", "b"))
    store.write_shard(rows("b"))
    with pytest.raises(ValueError, match="'b' is in both .*shard-00000.jsonl and .*shard-00001.jsonl"):
        store.read_all()


def test_leftover_temporary_files_of_a_killed_write_are_ignored(tmp_path):
    store = ShardStore(tmp_path, "key")
    (store.dir / ".shard-00000.jsonl.tmp-123").write_text('{"id": "partial')
    assert store.read_all() == []


def test_fingerprint_is_stable_and_sensitive():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
