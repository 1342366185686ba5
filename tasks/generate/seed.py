"""Seed descriptions: a manifest row's metadata rendered as text the backbone LLM can read.

    speech  [00:00-00:04] hello there (Gender: Female, Pitch: High, Speaking speed: Slow, Duration: 4s)
    sound   [00:00-00:05] (Audio category: dog bark, Duration: 5s)
    turns   one "[start-end] transcript (Speaker: A, ...)" line per attributes.segments entry, then a
            "(clip attributes, Duration: Ns)" line

Which attribute keys are shown, under which names and with which value wording is data
(attribute_wording.yaml), so a new corpus needs no code change; unknown keys show generically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

WORDING_FILE = Path(__file__).with_name("attribute_wording.yaml")
# Segment fields that place a turn rather than describe it.
SEGMENT_LAYOUT_KEYS = ("start", "end", "transcript")


@dataclass(frozen=True)
class AttributeWording:
    name: str
    values: dict[str, str] = field(default_factory=dict)
    capitalize: bool = False
    unit: str = ""
    join: str = ", "
    hidden: bool = False
    scope: str = "any"  # "segment": only on the turn lines of a multi-speaker clip
    # Grounding (tasks/generate/grounding.py): prompt categories asking for this value, and its wordings.
    asked_by: tuple[str, ...] = ()
    synonyms: dict[str, list[str]] = field(default_factory=dict)

    def render(self, value: Any) -> str:
        if isinstance(value, (list, tuple)):
            return self.join.join(self.render(item) for item in value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (int, float)):
            return f"{value:g}{self.unit}"
        text = str(value)
        if text in self.values:
            return self.values[text]
        text = text.replace("_", " ")
        return text[:1].upper() + text[1:] if self.capitalize else text


@dataclass(frozen=True)
class Wording:
    """The attribute wording table: known keys in display order."""

    known: dict[str, AttributeWording]

    def of(self, key: str) -> AttributeWording:
        if key in self.known:
            return self.known[key]
        generic = key.replace("_", " ").strip()
        return AttributeWording(name=generic[:1].upper() + generic[1:])

    def ordered_keys(self, keys) -> list[str]:
        order = {key: position for position, key in enumerate(self.known)}
        return sorted(keys, key=lambda key: (order.get(key, len(order)), key))

    def render_attributes(self, attributes: dict[str, Any], segment: bool = False) -> list[str]:
        """`Name: value` strings for the shown attributes, in display order (empty values skipped)."""
        parts = []
        for key in self.ordered_keys(attributes):
            wording, value = self.of(key), attributes[key]
            if wording.hidden or (wording.scope == "segment" and not segment) or value in (None, "", []):
                continue
            parts.append(f"{wording.name}: {wording.render(value)}")
        return parts


def load_wording(path: str | Path = WORDING_FILE) -> Wording:
    path = Path(path)
    data = yaml.safe_load(path.read_text()) or {}
    entries = data.get("attributes")
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: expected a top-level `attributes:` mapping of key -> wording")
    known = {}
    for key, spec in entries.items():
        spec = dict(spec or {})
        try:
            asked_by = tuple(spec.pop("asked_by", ()))
            known[key] = AttributeWording(name=spec.pop("name", key), asked_by=asked_by, **spec)
        except TypeError as error:
            raise ValueError(f"{path}: attributes.{key}: {error}; allowed fields: name, values, "
                             "capitalize, unit, join, hidden, scope, asked_by, synonyms") from None
    return Wording(known)


@lru_cache(maxsize=1)
def default_wording() -> Wording:
    return load_wording()


def whole_seconds(seconds: float) -> int:
    """Half rounds up (0.5 s -> 1 s): Python's round() would make a 0.5 s clip "00:00-00:00"."""
    return int(seconds + 0.5)


def timestamp(seconds: float) -> str:
    whole = whole_seconds(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def duration_text(seconds: float) -> str:
    return f"{whole_seconds(seconds)}s" if seconds >= 1 else f"{seconds:.1f}s"


def _line(start: float, end: float, transcript: str, parts: list[str]) -> str:
    # The start rounds down and the span lasts at least a second, so short turns never read "[00:07-00:07]".
    first = int(start)
    text = f"[{timestamp(first)}-{timestamp(max(whole_seconds(end), first + 1))}]"
    if transcript:
        text += f" {transcript}"
    if parts:
        text += f" ({', '.join(parts)})"
    return text


def render_seed_description(row, wording: Wording | None = None) -> str:
    """The seed description of a manifest row (dict-like or pandas Series with the manifest columns)."""
    wording = wording or default_wording()
    row_id = row["id"]
    try:
        attributes = json.loads(row["attributes"]) if row["attributes"] else {}
    except json.JSONDecodeError as error:
        raise ValueError(f"manifest row {row_id!r}: attributes is not valid JSON ({error}); "
                         "fix the corpus source that wrote it and rebuild the corpus") from None
    if not isinstance(attributes, dict):
        raise ValueError(f"manifest row {row_id!r}: attributes must be a JSON object, got {attributes!r}")
    duration = float(row["duration_s"])
    clip_parts = wording.render_attributes(attributes) + [f"Duration: {duration_text(duration)}"]
    segments = attributes.get("segments")
    if not segments:
        return _line(0.0, duration, (row["transcript"] or "").strip(), clip_parts)
    lines = []
    for number, segment in enumerate(segments):
        try:
            start, end = float(segment["start"]), float(segment["end"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"manifest row {row_id!r}: attributes.segments[{number}] needs numeric "
                             f"`start` and `end` (seconds), got {segment!r}") from None
        described = {key: value for key, value in segment.items() if key not in SEGMENT_LAYOUT_KEYS}
        transcript = (segment.get("transcript") or "").strip()
        lines.append(_line(start, end, transcript, wording.render_attributes(described, segment=True)))
    lines.append(f"({', '.join(clip_parts)})")
    return "\n".join(lines)
