"""Rule-checked output constraints of IFEval as Speech-IFEval and VoiceBench's ifeval subset use them.

Each checker decides whether a reply follows one instruction id with its kwargs; the strict rule of
IFEval applies on top: an empty (whitespace-only) reply follows nothing. The IF-rate is the instruction-level
rate (followed instructions / all instructions), the figure Speech-IFEval reports per task type.

Sentence counting splits on sentence-final punctuation followed by whitespace (IFEval uses NLTK's punkt);
word counting counts word-character runs, as IFEval's tokenizer does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence

from tasks.evaluate.scoring import WORD


class UnknownInstruction(ValueError):
    """An instruction id no checker here implements."""


def _compare(count: int, threshold: int, relation: str) -> bool:
    if relation == "less than":
        return count < threshold
    if relation == "at least":
        return count >= threshold
    raise ValueError(f"relation must be 'less than' or 'at least', got {relation!r}")


def count_sentences(text: str) -> int:
    return len([part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part.strip()])


def count_words(text: str) -> int:
    return len(WORD.findall(text))


def _bullets(text: str, num_bullets: int) -> bool:
    text = text.replace("\\n", "\n")
    patterns = (r"^\s*\*[^*].*$", r"^\s*-.*$", r"^\s*•.*$", r"^\s*\d.*$")
    return sum(len(re.findall(p, text, flags=re.MULTILINE)) for p in patterns) == num_bullets


def _paragraphs(text: str, num_paragraphs: int) -> bool:
    parts = re.split(r"\s*\*\*\*\s*|\n+", text.strip())
    # An empty part inside the reply (two separators in a row) breaks the paragraph structure.
    if any(not part.strip() for part in parts[1:-1]):
        return False
    return len([part for part in parts if part.strip()]) == num_paragraphs


def _json(text: str) -> bool:
    body = text.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):
        body = body.removeprefix(fence)
    body = body.removesuffix("```").strip()
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _title(text: str) -> bool:
    return any(title.strip("<>").strip() for title in re.findall(r"<<[^\n]+>>", text))


def _quoted(text: str) -> bool:
    text = text.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'


def _ends_with(text: str, end_phrase: str) -> bool:
    return text.strip().strip('"').lower().endswith(end_phrase.strip().lower())


def _repeats(text: str, prompt_to_repeat: str) -> bool:
    return text.strip().lower().strip("\"'").startswith(prompt_to_repeat.strip().lower())


def _has_keywords(text: str, keywords: Sequence[str]) -> bool:
    return all(re.search(re.escape(word), text, flags=re.IGNORECASE) for word in keywords)


def _lacks_words(text: str, forbidden_words: Sequence[str]) -> bool:
    return not any(re.search(rf"\b{re.escape(word)}\b", text, flags=re.IGNORECASE) for word in forbidden_words)


CHECKERS: dict[str, Callable[..., bool]] = {
    "change_case:english_capital": lambda text: text.isupper(),
    "change_case:english_lowercase": lambda text: text.islower(),
    "startend:quotation": _quoted,
    "startend:end_checker": _ends_with,
    "combination:repeat_prompt": _repeats,
    "detectable_format:title": _title,
    "detectable_format:json_format": _json,
    "detectable_format:number_bullet_lists": _bullets,
    "length_constraints:number_paragraphs": _paragraphs,
    "length_constraints:number_sentences": lambda text, num_sentences, relation: _compare(
        count_sentences(text), num_sentences, relation),
    "length_constraints:number_words": lambda text, num_words, relation: _compare(
        count_words(text), num_words, relation),
    "keywords:existence": _has_keywords,
    "keywords:forbidden_words": _lacks_words,
}


def follows(instruction_id: str, kwargs: Mapping, response: str) -> bool:
    """Whether the reply follows one instruction (IFEval's strict rule); empty kwargs values are dropped."""
    if instruction_id not in CHECKERS:
        raise UnknownInstruction(f"instruction id {instruction_id!r} has no checker; known: {sorted(CHECKERS)}")
    if not response.strip():
        return False
    arguments = {key: value for key, value in (kwargs or {}).items() if value}
    return bool(CHECKERS[instruction_id](response, **arguments))


def follow_list(instruction_ids: Sequence[str], kwargs_list: Sequence[Mapping], response: str) -> list[bool]:
    return [follows(i, k, response) for i, k in zip(instruction_ids, kwargs_list, strict=True)]


def check_constraints(row: Mapping, where: str) -> None:
    """A benchmark row's instruction_id_list + kwargs: official types, equal lengths, every id checkable with
    its kwargs; else BenchmarkFormatError naming `where`."""
    from tasks.evaluate.items import BenchmarkFormatError, require

    require(row, {"instruction_id_list": list, "kwargs": list}, where)
    if len(row["instruction_id_list"]) != len(row["kwargs"]):
        raise BenchmarkFormatError(f"{where}: instruction_id_list and kwargs differ in length")
    try:
        follow_list(row["instruction_id_list"], row["kwargs"], "probe")
    except UnknownInstruction as error:
        raise BenchmarkFormatError(f"{where}: {error}") from None
    except (TypeError, ValueError) as error:
        raise BenchmarkFormatError(f"{where}: kwargs do not fit their instruction ids ({error})") from None


def instruction_rate(follow_lists: Sequence[Sequence[bool]]) -> float | None:
    """Followed instructions / all instructions, in percent (None without any instruction)."""
    total = sum(len(flags) for flags in follow_lists)
    return 100.0 * sum(sum(flags) for flags in follow_lists) / total if total else None


def forgetting_rate(if_rate_model: float, if_rate_backbone: float) -> float:
    """Speech-IFEval's relative forgetting: (IF-rate of the model - IF-rate of its text backbone) / backbone, in %."""
    return 100.0 * (if_rate_model - if_rate_backbone) / if_rate_backbone
