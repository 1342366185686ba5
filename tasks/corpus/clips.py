"""A planned clip (metadata + how to render its audio) and the context every source plans with."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tasks.params import CorpusParams


@dataclass(frozen=True)
class Clip:
    id: str
    source: str
    kind: str  # speech | sound | music
    group: str  # the unit kept inside one split: a speaker, a recording, a track
    license: str
    render: Callable[[], np.ndarray]  # mono float32 at the corpus sample rate
    transcript: str = ""
    attributes: dict = field(default_factory=dict)
    split: str | None = None  # preset by the source (e.g. an external corpus's split column)


@dataclass(frozen=True)
class SourceContext:
    params: CorpusParams
    scratch: Path  # renderers' temporary files
    cache_dir: Path  # downloaded wheels, cached transcripts

    @property
    def rate(self) -> int:
        return self.params.sample_rate

    def rng(self, name: str) -> np.random.Generator:
        """One generator per source, so resizing one source never changes another's clips."""
        return np.random.default_rng([self.params.seed, zlib.crc32(name.encode())])

    def clip_seed(self, clip_id: str) -> list[int]:
        """Per-clip seed (noise) that does not depend on the order clips are rendered in."""
        return [self.params.seed, zlib.crc32(clip_id.encode())]

    def scratch_file(self, clip_id: str, suffix: str = ".wav") -> Path:
        return self.scratch / f"{clip_id}{suffix}"
