"""Grounding of generated targets: does an answer to an attribute question state the described value?

A row counts when its prompt's category asks for an attribute (`asked_by` in
tasks/generate/attribute_wording.yaml) and its seed description gives that attribute one value. The
answer then is
- grounded: it states the value (one of the value's synonyms; for a value without synonyms, every content
  word of the value, "dog bark" -> "a dog barking") and names no competing value of the attribute;
- contradicted: it names a competing value and not the described one ("faint" for `Volume: Normal`); a
  a value right after a negation ("it wasn't loud", "not a woman") is not stated;
- hedged: it names both; ignored: neither.
The metric is what the target gate reports beside its checks (metrics/validate_generated.json
`grounding`); `python -m tasks.generate.grounding ROWS.jsonl` prints it for any rows file.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from tasks.generate.prompts import Prompt, load_prompt_pool
from tasks.generate.seed import AttributeWording, default_wording

# Words a free-text value may carry that say nothing about which value it is.
GENERIC_WORDS = frozenset({"a", "an", "the", "of", "and", "sound", "effect"})
OUTCOMES = ("grounded", "contradicted", "hedged", "ignored")


@dataclass(frozen=True)
class Judgement:
    attribute: str  # display name, e.g. "Gender"
    value: str  # as the seed description shows it
    outcome: str  # one of OUTCOMES


def phrase_regex(phrase: str) -> re.Pattern:
    """A whole-word, case-insensitive match; a space or hyphen in the phrase matches either."""
    words = [re.escape(word) for word in re.split(r"[\s-]+", phrase.strip().lower())]
    return re.compile(r"(?<![\w-])" + r"[\s-]+".join(words) + r"(?![\w-])", re.IGNORECASE)


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9#]+", text.lower())


def stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def states_free_text(value: str, answer_tokens: list[str]) -> bool:
    """Every content word of the value appears (long words by their stem: bark ~ barking)."""
    wanted = [word for word in tokens(value) if word not in GENERIC_WORDS]
    return bool(wanted) and all(
        any(token == word or (len(word) >= 4 and token.startswith(stem(word))) for token in answer_tokens)
        for word in wanted)


def described_values(seed_description: str, name: str) -> set[str]:
    """The values the description gives for display name `name` ("Gender: Female" -> {"Female"})."""
    # A value runs to the next ", Name: " or to the closing parenthesis at the end of its line.
    pattern = re.compile(rf"(?:\(|, ){re.escape(name)}: (.+?)(?=, [A-Z][\w ]*: |\)\s*$)", re.MULTILINE)
    return {match.strip() for match in pattern.findall(seed_description)}


NEGATION = re.compile(r"(?:\bnot|n't|\bnever|\bnor|\bno|\bneither)(?:\s+\w+){0,2}\s*$", re.IGNORECASE)


def asserted(pattern: re.Pattern, answer: str) -> bool:
    """The phrase occurs at least once without a negation just before it ("it wasn't loud" asserts no loudness)."""
    return any(not NEGATION.search(answer[max(0, match.start() - 40):match.start()])
               for match in pattern.finditer(answer))


def synonyms_of(wording: AttributeWording, value: str) -> list[str] | None:
    for raw, words in wording.synonyms.items():
        if value.lower() in (raw.lower(), wording.render(raw).lower()):
            return [raw, *words]
    return None


def judge(answer: str, wording: AttributeWording, value: str) -> str:
    own = synonyms_of(wording, value)
    if own is None:
        return "grounded" if states_free_text(value, tokens(answer)) else "ignored"
    stated = any(asserted(phrase_regex(word), answer) for word in own)
    others = [word for raw, words in wording.synonyms.items() if [raw, *words] != own for word in [raw, *words]
              if word.lower() not in {own_word.lower() for own_word in own}]
    competing = any(asserted(phrase_regex(word), answer) for word in others)
    return {(True, False): "grounded", (False, True): "contradicted", (True, True): "hedged"}.get(
        (stated, competing), "ignored")


@lru_cache(maxsize=1)
def asked_attributes() -> dict[str, list[AttributeWording]]:
    """Prompt category -> the attributes its prompts ask for."""
    asked = defaultdict(list)
    for attribute in default_wording().known.values():
        for category in attribute.asked_by:
            asked[category].append(attribute)
    return dict(asked)


def judge_row(row: dict, categories: dict[str, str]) -> Judgement | None:
    """The row's judgement, or None when its prompt asks for no attribute its description gives once."""
    category = categories.get(row.get("prompt_id"))
    for attribute in asked_attributes().get(category, []):
        values = described_values(row.get("seed_description") or "", attribute.name)
        if len(values) == 1:  # absent: nothing to state; several (a two-speaker call): ambiguous
            value = values.pop()
            return Judgement(attribute.name, value, judge(row.get("response") or "", attribute, value))
    return None


def grounding_report(rows: Iterable[dict], pool: Iterable[Prompt]) -> dict:
    """`{"attribute_rows", "grounded", "rate", "outcomes", "by_attribute": {name: {...}}}` over the rows."""
    categories = {prompt.id: prompt.category for prompt in pool}
    outcomes, by_attribute = Counter(), defaultdict(Counter)
    for row in rows:
        judgement = judge_row(row, categories)
        if judgement is not None:
            outcomes[judgement.outcome] += 1
            by_attribute[judgement.attribute][judgement.outcome] += 1

    def summary(counts: Counter) -> dict:
        total = sum(counts.values())
        return {"rows": total, "grounded": counts["grounded"],
                "rate": round(counts["grounded"] / total, 4) if total else None,
                **{outcome: counts[outcome] for outcome in OUTCOMES[1:]}}

    report = summary(outcomes)
    return {"attribute_rows": report.pop("rows"), **report,
            "by_attribute": {name: summary(counts) for name, counts in sorted(by_attribute.items())}}


def summary_markdown(report: dict) -> str:
    rate = lambda value: f"{value:.0%}" if value is not None else "n/a"  # noqa: E731
    lines = ["### grounding: attribute answers that state the described value", "",
             "| attribute | rows | grounded | contradicted | hedged | ignored |", "|---|---|---|---|---|---|"]
    for name, counts in [*report["by_attribute"].items(), ("all", {**report, "rows": report["attribute_rows"]})]:
        lines.append(f"| {name} | {counts['rows']} | {counts['grounded']} ({rate(counts['rate'])}) | "
                     f"{counts['contradicted']} | {counts['hedged']} | {counts['ignored']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from tasks.rows import read_rows

    parser = argparse.ArgumentParser(description="Grounding metric of a generated rows file.")
    parser.add_argument("rows")
    parser.add_argument("--pool", nargs="+", default=None, help="prompt pool file(s) the rows sampled from")
    args = parser.parse_args(argv)
    pool = [prompt for path in (args.pool or [None]) for prompt in load_prompt_pool(path)]
    report = grounding_report(read_rows(args.rows), pool)
    print(summary_markdown(report))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
