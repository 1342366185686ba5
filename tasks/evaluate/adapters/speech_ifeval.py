"""Speech-IFEval: `data` is its data/ folder, holding eval_data/<task type>.jsonl and audios/<dataset>/...
Each row: id, audio_filepath (under audios/), textual_audio (the clip as text), instruction, dataset,
metric, and for the rule-checked task types instruction_id_list + kwargs.

Closed-ended questions and creative writing are rule-checked (tasks.evaluate.ifeval, IFEval's strict rule);
the rate per task type is followed instructions / instructions, and the IF-rate is their mean. The
chain-of-thought type needs Speech-IFEval's LLM judge and is read but not rule-scored (reported as such).
Relative forgetting compares the IF-rate against the backbone answering the same instruction with the clip's
`textual_audio` in place of the audio (the runner's `backbone_text` condition). The results file is the rows
with `response`, `follow_instruction_list` and `follow_all_instructions` added, as Speech-IFEval writes them.
"""

from __future__ import annotations

from collections.abc import Sequence

from tasks.evaluate.adapters.base import BACKBONE_TEXT, PREDICTION, SCORE, Adapter, register
from tasks.evaluate.ifeval import check_constraints, follow_list, forgetting_rate, instruction_rate
from tasks.evaluate.items import Item, named_files, read_jsonl, require
from tasks.storage import join

TASK_TYPES = ("closed_ended_questions", "creative_writing", "chain-of-thought")
RULE_TYPES = TASK_TYPES[:2]
FIELDS = {"audio_filepath": str, "instruction": str}


@register
class SpeechIFEval(Adapter):
    name = "speech_ifeval"
    reference_conditions = (BACKBONE_TEXT,)

    def audio_root(self) -> str:
        return self.suite.audio_root or join(self.suite.data, "audios")

    def _files(self, url: str) -> list[tuple[str, str]]:
        if url.endswith(".jsonl"):
            return [(url.rsplit("/", 1)[-1].removesuffix(".jsonl"), url)]
        return named_files(url, TASK_TYPES, "eval_data/{}.jsonl")

    def _items(self, url: str, with_response: bool = False) -> list[Item]:
        items = []
        for task_type, file in self._files(url):
            for line, row in read_jsonl(file):
                where = f"{file}: line {line}"
                require(row, FIELDS, where)
                if task_type in RULE_TYPES:
                    check_constraints(row, where)
                if with_response:
                    require(row, {"response": str}, where)
                items.append(Item(
                    id=f"{task_type}/{row.get('id', line)}",
                    messages=self.messages(row["audio_filepath"], instruction=row["instruction"]),
                    audio=row["audio_filepath"],
                    reference={"instruction_id_list": row.get("instruction_id_list"), "kwargs": row.get("kwargs"),
                               "text": row.get("textual_audio", " ")},
                    groups={"task_type": task_type, "dataset": str(row.get("dataset", ""))}, source=row,
                ))
        return items

    def read(self, url: str) -> list[Item]:
        return self._items(url)

    def score(self, item: Item, prediction: str) -> dict:
        ids = item.reference["instruction_id_list"]
        if ids is None:
            return {SCORE: None, "follow_instruction_list": None}
        flags = follow_list(ids, item.reference["kwargs"], prediction)
        return {SCORE: float(all(flags)), "follow_instruction_list": flags}

    def summarize(self, records: Sequence[dict]) -> dict:
        rates = {}
        for task_type in RULE_TYPES:
            flags = [r["follow_instruction_list"] for r in records
                     if r["groups"]["task_type"] == task_type and r.get("follow_instruction_list") is not None]
            if flags:
                rates[task_type] = {"if_rate": instruction_rate(flags), "n": len(flags)}
        unscored = sum(1 for r in records if r.get("follow_instruction_list") is None)
        if_rate = sum(r["if_rate"] for r in rates.values()) / len(rates) if rates else None
        return {"if_rate": if_rate, "by_task_type": rates, "not_rule_scored": unscored,
                "no_prediction": sum(1 for r in records if r.get(PREDICTION) is None)}

    def compare(self, metrics: dict, backbone: dict) -> dict:
        """The relative forgetting of the model against its backbone's text-only answers."""
        if metrics["if_rate"] is None or not backbone.get("if_rate"):
            return {"forgetting_rate": None}
        return {"forgetting_rate": forgetting_rate(metrics["if_rate"], backbone["if_rate"]),
                "backbone_if_rate": backbone["if_rate"]}

    def tables(self, metrics: dict) -> str:
        lines = ["| task type | following rate (%) | items |", "|---|---|---|"]
        lines += [f"| {t} | {row['if_rate']:.2f} | {row['n']} |" for t, row in metrics["by_task_type"].items()]
        if_rate = metrics["if_rate"]
        lines.append(f"| **IF-rate** | {'n/a' if if_rate is None else f'{if_rate:.2f}'} | |")
        if metrics.get("forgetting_rate") is not None:
            lines.append(f"| Δ (forgetting rate) | {metrics['forgetting_rate']:.2f} | |")
        lines.append(f"not rule-scored (chain-of-thought, needs the LLM judge): {metrics['not_rule_scored']}")
        return "\n".join(lines)

    def results(self, items: Sequence[Item], records: Sequence[dict]) -> list[dict]:
        return [{**item.source, "response": record["output"],
                 "follow_instruction_list": record["follow_instruction_list"],
                 "follow_all_instructions": None if record[SCORE] is None else bool(record[SCORE])}
                for item, record in zip(items, records, strict=True) if record[PREDICTION] is not None]

    def read_results(self, url: str) -> list[dict]:
        return [self.record(item, item.source["response"]) for item in self._items(url, with_response=True)]
