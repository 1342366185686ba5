"""Reading a manifest that is missing, a folder or not Parquet fails naming the file and the fix."""

from __future__ import annotations

import pytest

from tasks.manifest import ManifestError, read_manifest


@pytest.mark.parametrize(("make", "reason"), [
    (lambda path: None, "does not exist"),
    (lambda path: path.mkdir(), "is a directory"),
    (lambda path: path.write_text("id,path\na,b.wav\n"), "is not a readable Parquet file"),
    (lambda path: path.write_bytes(b"PAR1" + b"\0" * 64), "is not a readable Parquet file"),
])
def test_an_unreadable_manifest_names_the_file(tmp_path, make, reason):
    path = tmp_path / "manifest.parquet"
    make(path)
    with pytest.raises(ManifestError, match=f"manifest {path} {reason}"):
        read_manifest(str(path))
