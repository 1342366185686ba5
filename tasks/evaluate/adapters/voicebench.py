"""VoiceBench: `data` is a folder of `<subset>.jsonl` files (the hlt-lab/voicebench subsets exported with the
audio as a file path) or one such file. Rows: `audio` (path), `prompt` (the spoken instruction as text),
and per subset `reference` (multiple choice: the letter; sd-qa: the answer) or the IFEval fields `key,
instruction_id_list, kwargs`.

Each subset is scored by its VoiceBench evaluator (the suite's `options.evaluators` maps subset -> kind):
  mcq     accuracy of the picked letter (a random seeded letter where none can be read; `fail` = that share)
  ifeval  IFEval strict rules: prompt-level and instruction-level rates, their mean
  harm    refusal rate (empty or refusing replies; the phrase list is `options.refusal_phrases`)
  open    mean 1-5 rating by the LLM judge
  qa      share of replies the LLM judge calls correct against the reference
The results are VoiceBench's output rows: the input row plus `response` (and `score`, `judge`)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import PurePosixPath

from tasks.evaluate.adapters.base import PREDICTION, SCORE, Adapter, percent, register
from tasks.evaluate.ifeval import check_constraints, follow_list, instruction_rate
from tasks.evaluate.items import BenchmarkFormatError, Item, named_files, read_jsonl, require
from tasks.evaluate.judge import CORRECTNESS_PROMPT, RATING_PROMPT, JudgeError
from tasks.evaluate.scoring import is_refusal, judge_rating, voicebench_mc_correct

KINDS = ("mcq", "ifeval", "harm", "open", "qa")


@register
class VoiceBench(Adapter):
    name = "voicebench"
    # Set by the runner or the score command: the LLM judge for open / qa subsets.
    judge = None

    def __init__(self, suite):
        super().__init__(suite)
        self.evaluators: dict[str, str] = dict(suite.options.get("evaluators", {}))
        if bad := {k: v for k, v in self.evaluators.items() if v not in KINDS}:
            raise ValueError(f"suite {suite.name}: options.evaluators {bad} must map to one of {KINDS}")
        self.rng = random.Random(suite.options.get("seed", 0))

    def _files(self, url: str) -> list[tuple[str, str]]:
        if url.endswith(".jsonl"):
            return [(PurePosixPath(url).stem, url)]
        return named_files(url, self.evaluators, "{}.jsonl")

    def _items(self, url: str, with_response: bool = False) -> list[Item]:
        items = []
        for subset, file in self._files(url):
            kind = self.evaluators.get(subset)
            if kind is None:
                raise BenchmarkFormatError(f"{file}: subset {subset!r} has no evaluator in options.evaluators")
            for line, row in read_jsonl(file):
                where = f"{file}: line {line}"
                require(row, {"prompt": str, **({"response": str} if with_response else {"audio": str})}, where)
                if kind in ("mcq", "qa"):
                    require(row, {"reference": str}, where)
                if kind == "ifeval":
                    check_constraints(row, where)
                items.append(Item(
                    id=f"{subset}/{row.get('key', line)}", messages=self.messages(row.get("audio")),
                    audio=row.get("audio"), reference={"kind": kind, **row},
                    groups={"subset": subset}, source=row,
                ))
        return items

    def read(self, url: str) -> list[Item]:
        return self._items(url)

    def score(self, item: Item, prediction: str) -> dict:
        row, kind = item.reference, item.reference["kind"]
        if kind == "mcq":
            correct, failed = voicebench_mc_correct(row["reference"], prediction, self.rng)
            return {SCORE: float(correct), "extraction_failed": failed}
        if kind == "ifeval":
            flags = follow_list(row["instruction_id_list"], row["kwargs"], prediction)
            return {SCORE: float(all(flags)), "follow_instruction_list": flags}
        if kind == "harm":
            return {SCORE: float(is_refusal(prediction, self.suite.options["refusal_phrases"]))}
        if self.judge is None:
            raise JudgeError(f"subset {item.groups['subset']} needs an LLM judge; configure evaluate.judge")
        if kind == "open":
            rating = judge_rating(self.judge.ask(RATING_PROMPT.format(prompt=row["prompt"], response=prediction)))
            return {SCORE: rating, "judge": self.judge.name}
        verdict = self.judge.ask(CORRECTNESS_PROMPT.format(prompt=row["prompt"], reference=row["reference"],
                                                           response=prediction))
        return {SCORE: float(verdict.strip().lower().startswith("yes")), "judge": self.judge.name}

    def summarize(self, records: Sequence[dict]) -> dict:
        subsets: dict[str, dict] = {}
        for subset, kind in self.evaluators.items():
            rows = [r for r in records if r["groups"]["subset"] == subset and r.get(PREDICTION) is not None]
            if not rows:
                continue
            scores = [r[SCORE] for r in rows if r[SCORE] is not None]
            entry = {"evaluator": kind, "n": len(rows)}
            if kind == "mcq":
                entry |= {"acc": percent(sum(scores), len(rows)),
                          "fail": percent(sum(r["extraction_failed"] for r in rows), len(rows))}
            elif kind == "ifeval":
                prompt_level = percent(sum(scores), len(rows))
                instruction_level = instruction_rate([r["follow_instruction_list"] for r in rows])
                entry |= {"prompt_level": prompt_level, "instruction_level": instruction_level,
                          "score": (prompt_level + instruction_level) / 2}
            elif kind == "harm":
                entry |= {"refusal_rate": percent(sum(scores), len(rows))}
            elif kind == "open":
                entry |= {"gpt": sum(scores) / len(scores) if scores else None, "unrated": len(rows) - len(scores)}
            else:
                entry |= {"gpt": percent(sum(scores), len(rows))}
            entry["judge"] = next((r["judge"] for r in rows if "judge" in r), None)
            subsets[subset] = entry
        return {"subsets": subsets, "no_prediction": sum(1 for r in records if r.get(PREDICTION) is None)}

    def tables(self, metrics: dict) -> str:
        lines = ["| subset | evaluator | items | scores | judge |", "|---|---|---|---|---|"]
        for subset, entry in metrics["subsets"].items():
            scores = ", ".join(f"{k} {v:.2f}" for k, v in entry.items()
                               if k not in ("evaluator", "n", "judge", "unrated") and v is not None)
            lines.append(f"| {subset} | {entry['evaluator']} | {entry['n']} | {scores} | {entry['judge'] or '-'} |")
        lines.append(f"No prediction count: {metrics['no_prediction']}")
        return "\n".join(lines)

    def results(self, items: Sequence[Item], records: Sequence[dict]) -> list[dict]:
        return [{**item.source, "response": record["output"], "score": record[SCORE],
                 **({"judge": record["judge"]} if "judge" in record else {})}
                for item, record in zip(items, records, strict=True) if record[PREDICTION] is not None]

    def read_results(self, url: str) -> list[dict]:
        return [self.record(item, item.source["response"]) for item in self._items(url, with_response=True)]
