"""Gate fixtures: one real audio corpus on disk and one GX context for the whole session (GX is slow to start)."""

from __future__ import annotations

import pytest

from tasks.validate.checks import GxRun
from tests.tasks.validate.gate_helpers import build_audio


@pytest.fixture(scope="session")
def corpus_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("gate") / "corpus"
    durations = build_audio(root)
    return root, durations


@pytest.fixture(scope="session")
def gx_run():
    with GxRun() as run:
        yield run
