"""Every input/output location is a URL: a local path (`data/...`) or `s3://bucket/...`.

fsspec resolves the filesystem; S3 credentials and a custom endpoint come from the standard AWS
variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) plus AWS_ENDPOINT_URL for S3-compatible servers.

Every stage output is written through `atomic_write` (files) or `replace_dir` (folders): a reader, a
killed process or a full disk sees the previous output or the complete new one, never a part.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import socket
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import fsspec
from filelock import FileLock, Timeout

# Temporary siblings of an output: hidden, named after it, so a leftover says whose it was.
TEMP_MARK = ".tmp-"
_DRIVE = re.compile(r"^[A-Za-z]:")
LOCK_NAME = ".lock"
HOLDER_NAME = ".lock-holder.json"


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


class OutsideRootError(ValueError):
    """A path that leads out of its data root (by its text, or once links are followed)."""


def path_problem(path: object) -> str | None:
    """Why `path`, as text, may not be used as a location relative to a data root; None when it may.

    Text alone cannot see links: `inside_root` also follows them.
    """
    if path is None or (isinstance(path, str) and not path.strip()) or path != path:  # path != path: NaN
        return "empty path"
    if not isinstance(path, str):
        return f"{path!r} is not a text path"
    if "://" in path or path.startswith(("/", "\\")) or _DRIVE.match(path):
        return f"{path!r} is absolute; paths must be relative to the data root"
    normal = posixpath.normpath(path.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return f"{path!r} escapes the data root"
    if normal == ".":
        return "empty path"
    return None


def inside_root(root: str, path: object, *, allow_absolute: bool = False) -> str:
    """The URL of `path` under `root`, after following links; raise OutsideRootError when it leads elsewhere.

    The one confinement for every reader of audio (gates, ingestion, training, evaluation): a symlink
    inside the root that points to a file elsewhere is outside. Locally the real paths are compared;
    S3 has no links, so there the normalised key must lie under the root's prefix.
    `allow_absolute`: `path` may also be an absolute path or URL, if it lies under `root` (user metadata).
    """
    absolute = isinstance(path, str) and ("://" in path or path.startswith("/"))
    problem = None if absolute and allow_absolute else path_problem(path)
    if problem:
        raise OutsideRootError(problem)
    url = path if absolute else join(root, path)
    if not _under(root, url):
        raise OutsideRootError(f"{path!r} leads outside the data root {root} (links followed)")
    return url


def locate(root: str, path: object, *, allow_absolute: bool = False) -> tuple[str | None, str | None]:
    """`inside_root` for a reader that reports instead of raising: (URL, None), or (None, why not)."""
    try:
        return inside_root(root, path, allow_absolute=allow_absolute), None
    except OutsideRootError as error:
        return None, str(error)


def _under(root: str, url: str) -> bool:
    if is_remote(root) or is_remote(url):
        (scheme, _, key), (root_scheme, _, root_key) = url.partition("://"), root.partition("://")
        return scheme == root_scheme and posixpath.normpath(key).startswith(posixpath.normpath(root_key) + "/")
    real_root = os.path.realpath(root.removeprefix("file://"))
    return os.path.commonpath([real_root, os.path.realpath(url.removeprefix("file://"))]) == real_root


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


class DirectoryBusy(RuntimeError):
    """Another process holds the directory; the message names it (pid, host, start time, command)."""


@contextmanager
def hold_directory(directory: str | Path, user: str) -> Iterator[None]:
    """Hold `directory` for one `user` (e.g. "generate run") at a time; raise DirectoryBusy at once if another
    process holds it. An OS file lock: the kernel frees it when the holder dies, even by SIGKILL."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(directory / LOCK_NAME, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise DirectoryBusy(
            f"{directory} is in use by another {user} ({_holder(directory)}): two runs would write the same "
            "outputs; wait for it to finish or stop it, then run again") from None
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
