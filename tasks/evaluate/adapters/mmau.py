"""MMAU (v05.15.25): a JSON list of items with the official fields

    id, audio_id (path relative to the data root, e.g. "./test-mini-audios/<id>.wav"), question, choices,
    answer, task (sound | music | speech), category, sub-category, difficulty (easy | medium | hard), split,
    dataset

scored with MMAU's string match (tasks.evaluate.scoring.mmau_match) on `model_prediction`, the model output
with the reference's answer prefix stripped. The results file is the input list with `model_output`,
`model_prediction` and `match` (1/0) added, as MMAU's evaluation script writes it. Items whose results lack
`model_prediction` are left out of every accuracy, as that script does, and counted as "No prediction".
"""

from __future__ import annotations

from collections.abc import Sequence

from tasks.evaluate.adapters.base import PREDICTION, SCORE, Adapter, register
from tasks.evaluate.items import BenchmarkFormatError, Item, json_array_positions, read_json, read_text, require
from tasks.evaluate.prompts import list_options
from tasks.evaluate.scoring import mmau_match, strip_answer_prefix

FIELDS = {"id": str, "audio_id": str, "question": str, "choices": list, "answer": str, "task": str,
          "difficulty": str}
TASKS = ("sound", "music", "speech")
DIFFICULTIES = ("easy", "hard", "medium")  # the order MMAU's script prints them in
OUTPUT_KEY = "model_prediction"


def _records(url: str) -> list[tuple[int, dict]]:
    """(line, record) of each element of the file's top-level list, each checked against the official fields."""
    data = read_json(url)
    if not isinstance(data, list):
        raise BenchmarkFormatError(f"{url}: line 1: MMAU files are a JSON list of items, got {type(data).__name__}")
    lines = json_array_positions(read_text(url))
    checked = []
    for line, record in zip(lines, data, strict=True):
        where = f"{url}: line {line}"
        if not isinstance(record, dict):
            raise BenchmarkFormatError(f"{where}: an item must be a JSON object")
        require(record, FIELDS, where)
        if record["task"] not in TASKS:
            raise BenchmarkFormatError(f"{where}: task {record['task']!r} is not one of {TASKS}")
        if record["difficulty"] not in DIFFICULTIES:
            raise BenchmarkFormatError(f"{where}: difficulty {record['difficulty']!r} is not one of {DIFFICULTIES}")
        if not all(isinstance(choice, str) for choice in record["choices"]):
            raise BenchmarkFormatError(f"{where}: every choice must be a string")
        checked.append((line, record))
    return checked


def _groups(record: dict) -> dict[str, str]:
    groups = {"task": record["task"], "difficulty": record["difficulty"]}
    if record.get("sub-category") is not None:
        groups["sub-category"] = record["sub-category"]
    return groups


@register
class MMAU(Adapter):
    name = "mmau"
    group_order = {"task": TASKS, "difficulty": DIFFICULTIES, "sub-category": ()}

    def read(self, url: str) -> list[Item]:
        return [
            Item(
                id=record["id"],
                messages=self.messages(record["audio_id"], question=record["question"],
                                       options=list_options(record["choices"])),
                audio=record["audio_id"],
                reference={"answer": record["answer"], "choices": record["choices"]},
                groups=_groups(record),
                kind=record["task"],
                source=record,
            )
            for _, record in _records(url)
        ]

    def parse(self, item: Item, output: str) -> str:
        return strip_answer_prefix(output, self.suite.prompt.answer_prefix)

    def score(self, item: Item, prediction: str) -> dict:
        reference = item.reference
        return {SCORE: float(mmau_match(reference["answer"], prediction, reference["choices"]))}

    def results(self, items: Sequence[Item], records: Sequence[dict]) -> list[dict]:
        return [
            {**item.source, "model_output": record["output"], OUTPUT_KEY: record[PREDICTION],
             "match": int(record[SCORE])}
            for item, record in zip(items, records, strict=True)
            if record[PREDICTION] is not None
        ]

    def read_results(self, url: str) -> list[dict]:
        records = []
        for line, record in _records(url):
            item = Item(id=record["id"], messages=[], audio=record["audio_id"],
                        reference={"answer": record["answer"], "choices": record["choices"]},
                        groups=_groups(record), kind=record["task"], source=record)
            prediction = record.get(OUTPUT_KEY)
            if prediction is not None and not isinstance(prediction, str):
                raise BenchmarkFormatError(f"{url}: line {line}: {OUTPUT_KEY} must be a string")
            records.append(self.record(item, record.get("model_output"), prediction=prediction))
        return records
