"""Every input/output location is a URL: a local path (`data/...`) or `s3://bucket/...`.

fsspec resolves the filesystem; S3 credentials and a custom endpoint come from the standard AWS
variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) plus AWS_ENDPOINT_URL for S3-compatible servers.

Every stage output is written through `atomic_write` (files) or `replace_dir` (folders): a reader, a
killed process or a full disk sees the previous output or the complete new one, never a part.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import fsspec

# Temporary siblings of an output: hidden, named after it, so a leftover says whose it was.
TEMP_MARK = ".tmp-"


class OutputWriteError(OSError):
    """An output could not be written; the previous file or folder at that location is unchanged."""

    def __init__(self, url: str, error: OSError):
        reason = error.strerror or str(error)
        super().__init__(error.errno, f"cannot write {url}: {reason}; the previous {url} (if any) is unchanged")
        self.url = url

    def __str__(self) -> str:
        return self.args[1]


def storage_options(url: str) -> dict:
    if url.startswith("s3://") and os.environ.get("AWS_ENDPOINT_URL"):
        return {"client_kwargs": {"endpoint_url": os.environ["AWS_ENDPOINT_URL"]}}
    return {}


def filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem for `url` and the path inside it."""
    fs, path = fsspec.core.url_to_fs(url, **storage_options(url))
    return fs, path


def join(base: str, *parts: str) -> str:
    if "://" in base:
        return posixpath.join(base, *parts)
    return os.path.join(base, *parts)


def is_remote(url: str) -> bool:
    return "://" in url and not url.startswith("file://")


def local_path(url: str) -> Path:
    return Path(url.removeprefix("file://"))


def temp_sibling(path: Path) -> Path:
    """A fresh hidden name beside `path` (same filesystem, so a rename replaces `path` in one step)."""
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextmanager
def atomic_write(url: str, mode: str = "w") -> Iterator[IO]:
    """Open output `url` for writing ("w" text UTF-8, "wb" bytes); it appears only when the block succeeds.

    Local: a temporary file in the same folder, fsync, rename over the target, fsync the folder. S3: the
    data goes to a local temporary file, then up in one upload (S3 never shows a partial object). On any
    error the temporary file is removed, the previous output stays, and an OSError names `url`.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    remote = is_remote(url)
    if remote:
        descriptor, name = tempfile.mkstemp(prefix="destaflow-upload-")
        temp = Path(name)
    else:
        target = local_path(url)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputWriteError(url, error) from error
        temp = temp_sibling(target)
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666: the umask applies
    try:
        with open(descriptor, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if remote:
            fs, path = filesystem(url)
            fs.put_file(str(temp), path)
        else:
            os.replace(temp, target)
            _fsync_dir(target.parent)
    except OSError as error:
        if isinstance(error, OutputWriteError):
            raise
        raise OutputWriteError(url, error) from error
    finally:
        temp.unlink(missing_ok=True)


def write_text(url: str, text: str) -> None:
    with atomic_write(url) as handle:
        handle.write(text)


def replace_dir(source: Path, url: str) -> None:
    """Copy the finished local folder `source` to output folder `url`, replacing what was there.

    Local: copied beside the target first, then swapped in by renames, so a failed copy (full disk)
    leaves the previous folder whole. S3 has no folders to swap: the old prefix is removed and the
    files are uploaded one by one (each object whole).
    """
    if is_remote(url):
        fs, path = filesystem(url)
        if fs.exists(path):
            fs.rm(path, recursive=True)
        fs.put(str(source).rstrip("/") + "/", path, recursive=True)
        return
    target = local_path(url)
    temp = temp_sibling(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, temp)
        swap_in(temp, target)
    except OSError as error:
        shutil.rmtree(temp, ignore_errors=True)
        raise OutputWriteError(url, error) from error


def swap_in(new: Path, target: Path) -> None:
    """Move `new` (a file or folder on target's filesystem) to `target`, replacing it by renames only."""
    if not target.is_dir() or target.is_symlink():
        os.replace(new, target)
    else:
        old = temp_sibling(target)
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
