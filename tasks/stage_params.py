"""What a stage reads of the settings, declared once and enforced.

Each stage's flow declares the keys it reads (`READS`: its own section plus named values of others, as
dotted keys of the merged params, e.g. "generate", "validate_generated.refusal_phrases", "model.llm")
and loads its settings with `load_stage_params`. The view it gets refuses any other key and records
what was read, so the stage can check at the end that every declared key was used. Its DVC `params:`
in dvc.yaml are `dvc_params(READS)`; a test compares the two for every stage.

A preset (presets/<preset>.yaml) fills sections too (the model, some generation and training values) and
params.yaml's keys win over it. DVC cannot track a key that params.yaml leaves out, so a key read from a
section a preset can fill is tracked as the longest part of it params.yaml has (`model.llm` under an
empty `model:` is tracked as `model`), plus `preset`, and the stage depends on the preset file
(`presets/${preset}.yaml` in its deps).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tasks.params import PRESETS_DIR, REPO_ROOT, Params, ParamsError, load_params

PRESET_FILE = "presets/${preset}.yaml"


class UndeclaredRead(ParamsError):
    """A stage read a setting its declaration does not list (its DVC stage would not rerun on a change)."""


def _covers(declared: str, key: str) -> bool:
    return key == declared or key.startswith(declared + ".")


class StageParams:
    """A read-only view of Params that serves only the declared keys and records every key read."""

    def __init__(self, values: Any, reads: Iterable[str], stage: str, prefix: str = "",
                 read: set[str] | None = None) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_reads", tuple(reads))
        object.__setattr__(self, "_stage", stage)
        object.__setattr__(self, "_prefix", prefix)
        object.__setattr__(self, "_read", set() if read is None else read)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy/pickle protocol lookups, never settings
            raise AttributeError(name)
        derived = getattr(type(self._values), name, None)
        if isinstance(derived, property):  # e.g. Params.generator_llm: reads through this view, so it is checked
            return derived.fget(self)
        key = self._prefix + name
        if any(_covers(declared, key) for declared in self._reads):
            self._read.add(key)
            return getattr(self._values, name)
        if any(declared.startswith(key + ".") for declared in self._reads):
            return StageParams(getattr(self._values, name), self._reads, self._stage, key + ".", self._read)
        raise UndeclaredRead(
            f"stage {self._stage!r} reads {key}, which it does not declare: add it to READS in "
            f"flows/{self._stage}.py and run the test that derives dvc.yaml's params from it")

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("stage params are read-only")

    def __reduce__(self):
        return StageParams, (self._values, self._reads, self._stage, self._prefix, self._read)

    def unread(self) -> list[str]:
        """Declared keys the stage has not read (nor any key under them, nor a section holding them)."""
        return [declared for declared in self._reads
                if not any(_covers(declared, key) or _covers(key, declared) for key in self._read)]

    def require_all_read(self) -> None:
        """End of a stage: a declared key it never read would make DVC rerun it for nothing."""
        if self.unread():
            raise ParamsError(f"stage {self._stage!r} declares {', '.join(self.unread())} in READS but never read "
                              "it: remove it there and from its params in dvc.yaml")


def load_stage_params(path: str | Path, stage: str, reads: Iterable[str]) -> StageParams:
    """Validate the whole params file (contradictions fail with their key), then give the stage its view."""
    return StageParams(load_params(path), reads, stage)


def dvc_params(reads: Iterable[str], params_file: str | Path = REPO_ROOT / "params.yaml",
               presets_dir: Path = PRESETS_DIR) -> list[str]:
    """The `params:` entries of a DVC stage that reads `reads` (dotted attribute names of Params)."""
    values = yaml.safe_load(Path(params_file).read_text()) or {}
    entries: list[str] = []
    for key in reads:
        parts = key.split(".")
        field = Params.model_fields.get(parts[0])
        parts[0] = field.alias if field is not None and field.alias else parts[0]  # e.g. registry -> register
        if parts[0] in preset_sections(presets_dir):
            entries += ["preset"] if "preset" not in entries else []
        node, kept = values, []
        for part in parts:  # the longest prefix params.yaml holds: DVC tracks only keys that exist
            if not isinstance(node, dict) or part not in node:
                break
            node, kept = node[part], [*kept, part]
        entry = ".".join(kept or parts[:1])
        entries += [entry] if entry not in entries else []
    return entries


def needs_preset_file(reads: Iterable[str], presets_dir: Path = PRESETS_DIR) -> bool:
    """Whether a stage reading `reads` must depend on presets/${preset}.yaml."""
    return any(key.split(".")[0] in preset_sections(presets_dir) for key in reads)


def preset_sections(presets_dir: Path = PRESETS_DIR) -> set[str]:
    """The params sections any preset fills."""
    return {section for path in presets_dir.glob("*.yaml") for section in (yaml.safe_load(path.read_text()) or {})}
