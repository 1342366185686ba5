"""The adapter contract: read the benchmark's official input, turn a model output into the prediction the
official scorer reads, score it, summarise the records into the official tables, and write/read the
official results format (the `score` command reads the latter)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tasks.evaluate.items import Item
from tasks.evaluate.prompts import conversation

# Per-item record keys every adapter fills (the runner adds condition, prompt, output, audio mode, transcript).
PREDICTION, SCORE = "prediction", "score"
# Speech-IFEval's reference system: the backbone answering with the clip's text description in its place.
BACKBONE_TEXT = "backbone_text"


def percent(correct: float, total: int) -> float:
    return 100.0 * correct / total if total else 0.0


def grouped_accuracy(records: Sequence[dict], key: str, order: Sequence[str] = ()) -> dict[str, dict]:
    """{group value: {"accuracy": %, "n": items}}, the given order first, then first-seen order."""
    sums: dict[str, list[float]] = {value: [0.0, 0] for value in order}
    for record in records:
        value = record["groups"].get(key)
        if value is None:
            continue
        sums.setdefault(value, [0.0, 0])
        sums[value][0] += record[SCORE]
        sums[value][1] += 1
    return {value: {"accuracy": percent(s, int(n)), "n": int(n)} for value, (s, n) in sums.items()}


def accuracy_lines(title: str, table: dict[str, dict]) -> list[str]:
    """MMAU evaluation.py's layout: 'name : 70.57% over 333 samples'."""
    return [f"{title}:"] + [f"{name} : {row['accuracy']:.2f}% over {row['n']} samples" for name, row in table.items()]


class Adapter:
    """Subclasses set `name` and implement read/score; the defaults cover multiple-choice accuracy tables."""

    name = ""
    # Group keys tabulated by summarize(), each with the order its table starts with.
    group_order: dict[str, Sequence[str]] = {}
    # Conditions the benchmark itself compares against (beside the trained model).
    reference_conditions: tuple[str, ...] = ()

    def __init__(self, suite):
        self.suite = suite

    # ------------------------------------------------------------------------------------ input side
    def read(self, url: str) -> list[Item]:
        raise NotImplementedError

    def audio_root(self) -> str:
        """Where the items' relative audio paths resolve."""
        return self.suite.audio_base

    def messages(self, audio: str | None, **fields) -> list[dict]:
        prompt = self.suite.prompt
        return conversation(prompt.system, prompt.user, audio, **fields)

    # ---------------------------------------------------------------------------------- output side
    def parse(self, item: Item, output: str) -> str:
        return output.strip()

    def score(self, item: Item, prediction: str) -> dict[str, Any]:
        raise NotImplementedError

    def record(self, item: Item, output: str | None, prediction: str | None = None) -> dict[str, Any]:
        """The scored per-item record; a None output (no prediction) is counted by summarize, never scored."""
        if output is not None and prediction is None:
            prediction = self.parse(item, output)
        scored = {} if prediction is None else self.score(item, prediction)
        return {"id": item.id, "groups": item.groups, "kind": item.kind, "output": output,
                PREDICTION: prediction, SCORE: None, **scored}

    def summarize(self, records: Sequence[dict]) -> dict[str, Any]:
        scored = [r for r in records if r.get(PREDICTION) is not None]
        metrics: dict[str, Any] = {
            "accuracy": percent(sum(r[SCORE] for r in scored), len(scored)),
            "n": len(scored),
            "no_prediction": len(records) - len(scored),
        }
        for key, order in self.group_order.items():
            metrics[f"by_{key}"] = grouped_accuracy(scored, key, order)
        return metrics

    def tables(self, metrics: dict[str, Any]) -> str:
        rule = "*" * 30
        lines = [rule]
        for key in self.group_order:
            lines += accuracy_lines(f"{key.capitalize()}-wise Accuracy", metrics[f"by_{key}"]) + [rule]
        lines += [f"Total Accuracy: {metrics['accuracy']:.2f}% over {metrics['n']} samples", rule,
                  f"No prediction count: {metrics['no_prediction']}"]
        return "\n".join(lines)

    # ------------------------------------------------------------------------------ official results
    def results(self, items: Sequence[Item], records: Sequence[dict]) -> Any:
        raise NotImplementedError

    def read_results(self, url: str) -> list[dict]:
        """Scored records from a predictions file in the official results format."""
        raise NotImplementedError


ADAPTERS: dict[str, type[Adapter]] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    ADAPTERS[cls.name] = cls
    return cls


def adapter_class(name: str) -> type[Adapter]:
    # Importing the package registers every adapter module.
    import tasks.evaluate.adapters  # noqa: F401

    if name not in ADAPTERS:
        raise ValueError(f"unknown adapter {name!r}; known: {sorted(ADAPTERS)}")
    return ADAPTERS[name]

