"""Dynamic-SUPERB Phase-2 task instances: a JSON list or JSONL of `{file, instruction, label}` rows (the
columns of each task's test split; `audio` may stand for `file`, `task` names the task, else the file's
stem does). Classification tasks score by normalised exact match of the reply against the label. The
results file is the instances with `prediction` (and `match`) added."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from tasks.evaluate.adapters.base import PREDICTION, SCORE, Adapter, register
from tasks.evaluate.items import BenchmarkFormatError, Item, json_array_positions, read_json, read_jsonl, read_text
from tasks.evaluate.scoring import exact_match


def instances(url: str) -> list[tuple[str, dict]]:
    """(where, row) for each instance of a JSON list or JSONL file."""
    if url.endswith(".jsonl"):
        return [(f"{url}: line {line}", row) for line, row in read_jsonl(url)]
    data = read_json(url)
    if not isinstance(data, list):
        raise BenchmarkFormatError(f"{url}: line 1: expected a JSON list of instances or a .jsonl file")
    return [(f"{url}: line {line}", row) for line, row in zip(json_array_positions(read_text(url)), data, strict=True)]


def _check(where: str, row: dict) -> None:
    if not isinstance(row, dict):
        raise BenchmarkFormatError(f"{where}: an instance must be a JSON object")
    for name in ("instruction", "label"):
        if not isinstance(row.get(name), str):
            raise BenchmarkFormatError(f"{where}: field {name!r} must be a string (Phase-2 fields: file, instruction, label)")
    if not isinstance(row.get("file", row.get("audio")), str):
        raise BenchmarkFormatError(f"{where}: field 'file' (the audio path) must be a string")


@register
class DynamicSuperb(Adapter):
    name = "dynamic_superb"
    group_order = {"task": ()}

    def read(self, url: str) -> list[Item]:
        task = PurePosixPath(url).stem
        items = []
        for index, (where, row) in enumerate(instances(url)):
            _check(where, row)
            audio = row.get("file", row.get("audio"))
            items.append(Item(
                id=str(row.get("id", f"{task}-{index}")),
                messages=self.messages(audio, instruction=row["instruction"]),
                audio=audio, reference={"label": row["label"]},
                groups={"task": str(row.get("task", task))}, source=row,
            ))
        return items

    def score(self, item: Item, prediction: str) -> dict:
        return {SCORE: float(exact_match(item.reference["label"], prediction))}

    def results(self, items: Sequence[Item], records: Sequence[dict]) -> list[dict]:
        return [{**item.source, PREDICTION: record[PREDICTION], "match": int(record[SCORE])}
                for item, record in zip(items, records, strict=True) if record[PREDICTION] is not None]

    def read_results(self, url: str) -> list[dict]:
        return [self.record(item, None, prediction=item.source.get(PREDICTION)) for item in self.read(url)]
