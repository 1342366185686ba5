"""The local stack's env file (`.work/stack.env`, git-ignored, written by `make up`): server URLs, ports and
the generated S3 credentials. Stages that talk to the servers read it unless the variables are already set.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STACK_ENV = REPO_ROOT / ".work" / "stack.env"


def read_stack_env(path: Path = STACK_ENV) -> dict[str, str]:
    """KEY=VALUE lines (an `export ` prefix and quotes allowed); {} when the stack was never started."""
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip().removeprefix("export ").strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip("'\"")
    return values


def load_stack_env(path: Path = STACK_ENV) -> dict[str, str]:
    """Put the stack's variables into os.environ where not set already; the resulting values."""
    for key, value in read_stack_env(path).items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in read_stack_env(path)}
