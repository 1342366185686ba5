"""Every input/output location is a URL: a local path (`data/...`) or `s3://bucket/...`.

fsspec resolves the filesystem; S3 credentials and a custom endpoint come from the standard AWS
variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) plus AWS_ENDPOINT_URL for S3-compatible servers.
"""

from __future__ import annotations

import os
import posixpath

import fsspec


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
