"""Confinement of paths to their data root: by text, and once links are followed (locally and on S3)."""

from __future__ import annotations

import os

import pytest

from tasks.storage import OutsideRootError, inside_root, locate, path_problem


@pytest.mark.parametrize("path", ["audio/a.wav", "./audio/a.wav", "audio/x/../a.wav", "a b/ü.flac"])
def test_relative_paths_inside_the_root_are_safe(path):
    assert path_problem(path) is None


@pytest.mark.parametrize("path, reason", [
    ("", "empty path"), ("   ", "empty path"), (None, "empty path"), (float("nan"), "empty path"), (".", "empty path"),
    (123, "is not a text path"),
    ("/data/a.wav", "is absolute"), ("s3://bucket/a.wav", "is absolute"), ("C:\\audio\\a.wav", "is absolute"),
    ("\\\\server\\a.wav", "is absolute"), ("..", "escapes the data root"), ("../a.wav", "escapes the data root"),
    ("audio/../../a.wav", "escapes the data root"), ("audio\\..\\..\\a.wav", "escapes the data root"),
])
def test_unsafe_paths_are_named(path, reason):
    assert reason in path_problem(path)


@pytest.fixture
def linked_root(tmp_path):
    """A data root holding a real file, a link to it, and links (to a file, to a folder) leading out."""
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    (root / "audio").mkdir(parents=True)
    (elsewhere / "folder").mkdir(parents=True)
    (root / "audio" / "real.wav").write_bytes(b"x")
    (elsewhere / "secret.wav").write_bytes(b"x")
    (elsewhere / "folder" / "other.wav").write_bytes(b"x")
    (root / "audio" / "alias.wav").symlink_to(root / "audio" / "real.wav")
    (root / "audio" / "out.wav").symlink_to(elsewhere / "secret.wav")
    (root / "audio" / "relative_out.wav").symlink_to(os.path.join("..", "..", "elsewhere", "secret.wav"))
    (root / "outdir").symlink_to(elsewhere / "folder")
    return root


@pytest.mark.parametrize("path", ["audio/real.wav", "audio/alias.wav", "audio/not_yet_there.wav"])
def test_paths_that_stay_inside_after_links_are_followed(linked_root, path):
    assert inside_root(str(linked_root), path) == os.path.join(str(linked_root), path)


@pytest.mark.parametrize("path", ["audio/out.wav", "audio/relative_out.wav", "outdir/other.wav"])
def test_links_out_of_the_root_are_refused(linked_root, path):
    with pytest.raises(OutsideRootError, match="leads outside the data root .*links followed"):
        inside_root(str(linked_root), path)
    assert locate(str(linked_root), path)[0] is None


def test_a_root_reached_through_a_link_still_confines(linked_root, tmp_path):
    (tmp_path / "root_link").symlink_to(linked_root)
    assert locate(str(tmp_path / "root_link"), "audio/alias.wav")[1] is None
    assert "leads outside" in locate(str(tmp_path / "root_link"), "audio/out.wav")[1]


def test_absolute_paths_only_when_allowed_and_inside(linked_root, tmp_path):
    inside = str(linked_root / "audio" / "real.wav")
    assert "is absolute" in locate(str(linked_root), inside)[1]
    assert inside_root(str(linked_root), inside, allow_absolute=True) == inside
    for outside in (str(tmp_path / "elsewhere" / "secret.wav"), str(linked_root / "audio" / "out.wav")):
        with pytest.raises(OutsideRootError, match="leads outside"):
            inside_root(str(linked_root), outside, allow_absolute=True)


@pytest.mark.parametrize("root, path, inside", [
    ("s3://bucket/calls", "a/b.wav", True),
    ("s3://bucket/calls/", "s3://bucket/calls/b.wav", True),
    ("s3://bucket/calls", "s3://bucket/calls-other/b.wav", False),  # a shared name prefix is not the folder
    ("s3://bucket/calls", "s3://bucket/calls/../x.wav", False),
    ("s3://bucket/calls", "s3://other/calls/b.wav", False),
    ("s3://bucket/calls", "gs://bucket/calls/b.wav", False),
    ("s3://bucket", "s3://bucket/b.wav", True),
])
def test_s3_keys_must_lie_under_the_root_prefix(root, path, inside):
    url, problem = locate(root, path, allow_absolute=True)
    assert (url is not None, problem is None) == (inside, inside)
