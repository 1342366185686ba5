"""Running a suite: its items through each condition's model, scored by the suite's adapter, with every
record carrying what produced it (suite version, prompt, chat template, decoding, batch size, long-audio
mode, condition)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tasks.evaluate.adapters.base import BACKBONE_TEXT
from tasks.evaluate.conditions import CONDITIONS, condition_model, mismatched_items
from tasks.evaluate.inference import Answerer, as_text, record_prompt
from tasks.evaluate.items import Item
from tasks.evaluate.registry import Suite
from tasks.progress import Progress


@dataclass
class RunSettings:
    batch_size: int = 8
    long_audio: str = "reference"
    vad: bool = True
    seed: int = 0
    max_items: int | None = None
    max_new_tokens: int | None = None


@dataclass
class ConditionResult:
    condition: str
    records: list[dict]
    metrics: dict[str, Any]
    items: list[Item] = field(default_factory=list)
    # "<item id>: <why>" for every item that could not be answered (missing or unusable audio).
    errors: list[str] = field(default_factory=list)


def generate_kwargs(suite: Suite, settings: RunSettings) -> dict[str, Any]:
    kwargs = suite.decoding.generate_kwargs()
    if settings.max_new_tokens is not None:
        kwargs["max_new_tokens"] = settings.max_new_tokens
    return kwargs


def provenance(suite: Suite, model, settings: RunSettings, condition: str) -> dict[str, Any]:
    """What every result records about how it was produced."""
    return {
        **suite.record(),
        "decoding": generate_kwargs(suite, settings),
        "chat_template": model.processor.tokenizer.chat_template,
        "batch_size": settings.batch_size,
        "long_audio": settings.long_audio,
        "vad": settings.vad,
        "condition": condition,
    }


def run_condition(suite: Suite, items: Sequence[Item], model, condition: str, settings: RunSettings,
                  transcripts: dict[str, str] | None = None) -> ConditionResult:
    """Answer and score `items` under one condition (CONDITIONS, or BACKBONE_TEXT for Speech-IFEval);
    `transcripts` (clip URL -> transcript) carries the clips' transcripts from one condition to the next."""
    adapter = suite.adapter_instance
    feed, audio_vectors = None, True
    if condition == BACKBONE_TEXT:
        feed = lambda answer: as_text(answer.messages, answer.item.reference.get("text", " "))  # noqa: E731
    elif condition in CONDITIONS:
        model = condition_model(condition, model, settings.seed)
        audio_vectors = CONDITIONS[condition].audio_vectors
        if CONDITIONS[condition].mismatched_audio:
            items = mismatched_items(items, settings.seed)
    else:
        raise ValueError(f"unknown condition {condition!r}; one of {(*CONDITIONS, BACKBONE_TEXT)}")
    answerer = Answerer(model, settings.batch_size, settings.long_audio, settings.vad, transcripts)
    with Progress(len(items), f"{suite.name} {condition}", unit="item") as progress:
        answers = answerer.answer(items, adapter.audio_root(), generate_kwargs(suite, settings), feed=feed,
                                  audio_vectors=audio_vectors, progress=progress.update)
    shared = provenance(suite, model, settings, condition)
    records = []
    for answer in answers:
        record = adapter.record(answer.item, answer.output)
        records.append({**record, "condition": condition, "prompt": record_prompt(answer.messages),
                        "transcript": answer.transcript, "error": answer.error, "provenance": shared,
                        **({"max_new_tokens": answer.item.max_new_tokens} if answer.item.max_new_tokens else {})})
    metrics = adapter.summarize(records)
    errors = [r for r in records if r["error"]]
    metrics["missing_audio"] = sum(1 for r in errors if r["error"].startswith("missing audio"))
    metrics["unusable_items"] = len(errors)
    return ConditionResult(condition, records, metrics, list(items), [f"{r['id']}: {r['error']}" for r in errors])


def load_items(suite: Suite, settings: RunSettings) -> list[Item]:
    items = suite.adapter_instance.read(suite.data)
    return items[: settings.max_items] if settings.max_items is not None else items


def suite_conditions(suite: Suite, conditions: Sequence[str]) -> list[str]:
    """The four conditions where the suite asks for them, else the trained model; plus the benchmark's own."""
    chosen = list(conditions) if suite.four_conditions else ["trained"]
    return chosen + list(suite.adapter_instance.reference_conditions)


def run_suite(suite: Suite, model, conditions: Sequence[str], settings: RunSettings) -> dict[str, ConditionResult]:
    items = load_items(suite, settings)
    # Whisper is frozen and the same in every condition: each clip is transcribed once per suite.
    transcripts: dict[str, str] = {}
    return {condition: run_condition(suite, items, model, condition, settings, transcripts) for condition in conditions}


def difference(trained: dict, other: dict, keys: Sequence[str]) -> dict[str, float]:
    """trained - other for the suite's metrics `keys` both have, and per category of their by_* tables."""
    delta = {}
    for key, value in trained.items():
        if key in keys and isinstance(value, (int, float)) and isinstance(other.get(key), (int, float)):
            delta[key] = value - other[key]
        elif key.startswith("by_") and isinstance(value, dict):
            for name, row in value.items():
                if "accuracy" in row and name in other.get(key, {}):
                    delta[f"{key[3:]}.{name}"] = row["accuracy"] - other[key][name]["accuracy"]
    return delta
