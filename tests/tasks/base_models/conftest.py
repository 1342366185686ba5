from __future__ import annotations

import pytest

from tasks.base_models.prepare import prepare, preset_base_models


@pytest.fixture(scope="session")
def prepared() -> dict[str, str]:
    """The smol preset's models in the shared models/ folder: converted once, reused by later runs."""
    return prepare(preset_base_models("smol"))
