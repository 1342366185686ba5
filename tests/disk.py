"""A real full disk for write tests: a 1 MiB tmpfs mounted for one test (needs root's mount)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SMALL_DISK_BYTES = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A folder on a fresh 1 MiB tmpfs: a write larger than what is free fails with ENOSPC."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK_BYTES}", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)
