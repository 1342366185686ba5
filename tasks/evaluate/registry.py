"""The suite registry: one small YAML file per suite under tasks/evaluate/suites/, in the spirit of
lm-evaluation-harness tasks.

    name: mmau                      # the registry key (= the file name)
    version: "v05.15.25"            # the benchmark release the adapter reads; recorded with every result
    adapter: mmau                   # tasks/evaluate/adapters/<adapter>.py
    data: null                      # the official file (local path or s3://); null: set evaluate.suites.<name>.data
    audio_root: null                # where relative audio paths resolve; null: the data file's folder
    prompt: {system: ..., user: "<|AUDIO|>\n\n{question} ...", answer_prefix: ...}
    decoding: {max_new_tokens: 512, do_sample: false}
    metrics: [accuracy]             # what summarize() reports; primary_metric is the headline
    primary_metric: accuracy
    four_conditions: false          # true: untrained / text_only / mismatched / trained on the same items
    options: {}                     # adapter-specific settings (refusal phrases, judge, seeds)

params.yaml's `evaluate.suites.<name>` may override data, audio_root and decoding.
"""

from __future__ import annotations

import posixpath
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SUITES_DIR = Path(__file__).resolve().parent / "suites"


class SuiteError(ValueError):
    """A suite file that cannot be used; names the file and the key."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PromptSpec(Strict):
    system: str
    user: str
    # Text the reference strips from the output before the official scorer reads it.
    answer_prefix: str = ""


class Decoding(Strict):
    max_new_tokens: int = Field(512, gt=0)
    do_sample: bool = False

    def generate_kwargs(self) -> dict[str, Any]:
        return {"max_new_tokens": self.max_new_tokens, "do_sample": self.do_sample}


class Suite(Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    version: str
    adapter: str
    description: str = ""
    data: str | None = None
    audio_root: str | None = None
    prompt: PromptSpec
    decoding: Decoding = Decoding()
    metrics: list[str] = Field(min_length=1)
    primary_metric: str
    # Run the four comparison conditions on this suite (else only the trained model, plus the adapter's own
    # reference condition such as Speech-IFEval's text backbone).
    four_conditions: bool = False
    options: dict[str, Any] = {}

    @property
    def audio_base(self) -> str:
        if self.audio_root is not None:
            return self.audio_root
        if self.data is None:
            raise SuiteError(f"suite {self.name}: no data path; set evaluate.suites.{self.name}.data")
        return posixpath.dirname(self.data) if "://" in self.data else str(Path(self.data).parent)

    @cached_property
    def adapter_instance(self):
        from tasks.evaluate.adapters.base import adapter_class

        return adapter_class(self.adapter)(self)

    def record(self) -> dict[str, Any]:
        """What every result records about the suite: name, version, prompt, decoding."""
        return {"suite": self.name, "version": self.version, "prompt": self.prompt.model_dump(),
                "decoding": self.decoding.model_dump()}


def available_suites() -> list[str]:
    return sorted(path.stem for path in SUITES_DIR.glob("*.yaml"))


def load_suite(name: str, **overrides: Any) -> Suite:
    """The registered suite `name` with params overrides (data, audio_root, decoding) applied."""
    path = SUITES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise SuiteError(f"unknown suite {name!r}; registered: {available_suites()}")
    spec = yaml.safe_load(path.read_text()) or {}
    for key, value in overrides.items():
        if value is None:
            continue
        spec[key] = {**spec.get(key, {}), **value} if isinstance(value, dict) else value
    try:
        suite = Suite.model_validate(spec)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise SuiteError(f"{path}: {problems}") from None
    if suite.name != name:
        raise SuiteError(f"{path}: name {suite.name!r} must equal the file name {name!r}")
    if suite.primary_metric not in suite.metrics:
        raise SuiteError(f"{path}: primary_metric {suite.primary_metric!r} is not in metrics {suite.metrics}")
    suite.adapter_instance  # an unknown adapter fails here, naming it
    return suite
