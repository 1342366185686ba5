"""Every input/output location is a URL: a local path (`data/...`) or `s3://bucket/...`.

fsspec resolves the filesystem; S3 credentials and a custom endpoint come from the standard AWS
variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) plus AWS_ENDPOINT_URL for S3-compatible servers.
"""

from __future__ import annotations

import os
import posixpath
import re

import fsspec

_DRIVE = re.compile(r"^[A-Za-z]:")


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
