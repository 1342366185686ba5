"""The target gate: a GX suite over the generated rows (JSONL; contract and schema in tasks/rows.py).

Every non-blank line is one input row, including lines that do not parse: they stay in the frame
with a parse error (and nulls elsewhere, which the other rules skip), so GX reports them too and
nothing is lost. Derived columns carry what a rule needs from the nested row (locator and audio
counts, the generator model, a JSON-schema finding). Clean rows go through the rows writer, like every row file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

import great_expectations.expectations as gxe
import pandas as pd

from tasks.params import Params, ValidateGeneratedParams
from tasks.rows import jsonl_lines, loads_row, phrase_pattern, schema_problem, write_rows
from tasks.storage import filesystem, path_problem
from tasks.validate.checks import Check, GxRun
from tasks.validate.outcome import Outcome, decide

GATE = "validate_generated"


class PoolPrompt(Protocol):
    """What the gate needs of tasks.generate.prompts.Prompt."""

    id: str
    text: str


@dataclass
class ParsedLines:
    """One entry per non-blank input line: its number, the row (or the raw text if it did not parse)."""

    numbers: list[int]
    rows: list[Any]
    parse_errors: list[str | None]


def parse_lines(lines: Iterable[bytes | str]) -> ParsedLines:
    """Lines as read from the file (bytes: an undecodable line becomes a row with its error)."""
    parsed = ParsedLines([], [], [])
    for number, text, error in jsonl_lines(lines):
        if error is None and not text.strip():
            continue  # a blank line holds no row
        try:
            row = text if error else loads_row(text)
        except (ValueError, RecursionError) as failure:  # RecursionError: absurdly deep nesting
            row, error = text, f"not valid JSON: {failure}"
        if error is None and not isinstance(row, dict):
            error = f"not a JSON object (got {type(row).__name__})"
        parsed.numbers.append(number)
        parsed.rows.append(row)
        parsed.parse_errors.append(error)
    return parsed


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _derived(row: dict, audio_locator: str) -> dict:
    """The columns the rules need, read defensively: a wrong type gives None (row_schema reports it)."""
    messages = row.get("messages") if isinstance(row.get("messages"), list) else []
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    audios = [a for m in users if isinstance(m.get("audios"), list) for a in m["audios"]]
    audio_problems = [path_problem(a.get("audio") if isinstance(a, dict) else None) for a in audios]
    generator = row.get("generator") if isinstance(row.get("generator"), dict) else {}
    flags = row.get("flags")
    return {
        "id": _text(row.get("id")),
        "schema_problem": schema_problem(row),
        "locator_count": float(sum((_text(m.get("content")) or "").count(audio_locator) for m in users)),
        "audio_count": float(len(audios)),
        "audio_path_problem": next((problem for problem in audio_problems if problem), None),
        "response": _text(row.get("response")),
        "finish_reason": _text(row.get("finish_reason")),
        "flags_text": ",".join(sorted(map(str, flags))) if isinstance(flags, list) else None,
        "prompt_id": _text(row.get("prompt_id")),
        "prompt": _text(row.get("prompt")),
        "generator_model": _text(generator.get("model")),
    }


def rows_frame(parsed: ParsedLines, audio_locator: str) -> pd.DataFrame:
    records = [
        {"line": number, "parse_error": error, **(_derived(row, audio_locator) if error is None else {})}
        for number, row, error in zip(parsed.numbers, parsed.rows, parsed.parse_errors)
    ]
    frame = pd.DataFrame.from_records(records, columns=[
        "line", "parse_error", "id", "schema_problem", "locator_count", "audio_count", "audio_path_problem",
        "response", "finish_reason", "flags_text", "prompt_id", "prompt", "generator_model"])
    for column in ("locator_count", "audio_count"):
        frame[column] = frame[column].astype("float64")
    return frame


def _found(phrases: list[str], ignore_case: bool):
    patterns = [(phrase, re.compile(phrase_pattern(phrase, ignore_case))) for phrase in phrases]
    return lambda response: "response contains " + ", ".join(
        repr(phrase) for phrase, pattern in patterns if pattern.search(str(response)))


def allowed_generators(params: Params) -> list[str] | None:
    """The models that may have written the targets, from params alone (a row's own claim counts for nothing).

    Self-generation: the backbone only. With generate.allow_foreign_generator also generate.generator,
    or, when none is named, whatever model the endpoints serve (None: no generator check).
    """
    named = params.generate.generator  # read whatever the switch says: the stage declares (and DVC tracks) both
    if not params.generate.allow_foreign_generator:
        return [params.model.llm]
    return sorted({params.model.llm, named}) if named else None


def generated_checks(params: ValidateGeneratedParams, *, generators: Sequence[str] | None,
                     prompt_pool: Iterable[PoolPrompt], audio_locator: str) -> list[Check]:
    low, high = params.min_response_chars, params.max_response_chars
    checks = [
        Check("not_empty", gxe.ExpectTableRowCountToBeBetween(min_value=1), per_row=False),
        Check("json_object", gxe.ExpectColumnValuesToBeNull(column="parse_error")),
        Check("row_schema", gxe.ExpectColumnValuesToBeNull(column="schema_problem")),
        Check("id_unique", gxe.ExpectColumnValuesToBeUnique(column="id"),
              detail=lambda value: f"id {value!r} occurs more than once"),
        Check("audio_count_matches", gxe.ExpectColumnPairValuesToBeEqual(
            column_A="locator_count", column_B="audio_count", ignore_row_if="either_value_is_missing"),
            detail=lambda pair: f"{pair[0]:g} {audio_locator} in the user turn, {pair[1]:g} audios"),
        Check("audio_path_inside_root", gxe.ExpectColumnValuesToBeNull(column="audio_path_problem")),
        Check("response_not_empty", gxe.ExpectColumnValuesToMatchRegex(column="response", regex=r"\S"),
              detail=lambda _: "empty or whitespace-only response"),
        Check("response_length", gxe.ExpectColumnValueLengthsToBeBetween(
            column="response", min_value=low, max_value=high),
            detail=lambda response: f"{len(response)} characters, allowed {low}..{high}"),
        Check("not_truncated", gxe.ExpectColumnValuesToNotBeInSet(column="finish_reason", value_set=["length"]),
              detail=lambda _: "finish_reason=length: generation hit max_tokens"),
        Check("no_generator_flags", gxe.ExpectColumnValuesToBeInSet(column="flags_text", value_set=[""]),
              detail=lambda flags: f"generator flagged the row: {flags}"),
        Check("prompt_in_pool", gxe.ExpectColumnPairValuesToBeInSet(
            column_A="prompt_id", column_B="prompt", ignore_row_if="either_value_is_missing",
            value_pairs_set=[(prompt.id, prompt.text) for prompt in prompt_pool]),
            detail=lambda pair: f"prompt {pair[0]!r} with this text is not in the prompt pool"),
    ]
    if generators is not None:
        checks.append(Check("generator_allowed", gxe.ExpectColumnValuesToBeInSet(
            column="generator_model", value_set=list(generators)),
            detail=lambda model: f"written by {model!r}, not by {' or '.join(map(repr, generators))} "
                                 "(params decide: generate.allow_foreign_generator, generate.generator)"))
    if params.leak_markers:
        checks.append(Check("no_leaked_markers", gxe.ExpectColumnValuesToNotMatchRegexList(
            column="response", regex_list=[phrase_pattern(m, False) for m in params.leak_markers]),
            detail=_found(params.leak_markers, ignore_case=False)))
    if params.refusal_phrases:
        checks.append(Check("no_refusal", gxe.ExpectColumnValuesToNotMatchRegexList(
            column="response", regex_list=[phrase_pattern(p, True) for p in params.refusal_phrases]),
            detail=_found(params.refusal_phrases, ignore_case=True)))
    return checks


def validate_rows(lines: Iterable[bytes | str], params: ValidateGeneratedParams, *, generators: Sequence[str] | None,
                  prompt_pool: Iterable[PoolPrompt], audio_locator: str, gx_run: GxRun) -> tuple[Outcome, ParsedLines]:
    """Run the target suite on JSONL `lines`; positions in the outcome index the parsed lines."""
    parsed = parse_lines(lines)
    frame = rows_frame(parsed, audio_locator)
    checks = generated_checks(params, generators=generators, prompt_pool=prompt_pool, audio_locator=audio_locator)
    results = gx_run.validate("generated_rows", frame, checks)
    ids = [value if isinstance(value, str) else None for value in frame["id"]]
    outcome = decide(GATE, results, ids, params.max_failed_fraction,
                     locator="line", numbers=parsed.numbers)
    return outcome, parsed


def run_generated_gate(params: ValidateGeneratedParams, *, generators: Sequence[str] | None,
                       prompt_pool: Iterable[PoolPrompt], audio_locator: str, gx_run: GxRun) -> Outcome:
    """Validate params.rows and write quarantine + report (+ clean lines if it passed); input untouched."""
    fs, path = filesystem(params.rows)
    if not fs.exists(path):
        raise FileNotFoundError(f"generated rows {params.rows} do not exist; run the generate stage first")
    with fs.open(path, "rb") as handle:
        outcome, parsed = validate_rows(handle, params, generators=generators, prompt_pool=prompt_pool,
                                        audio_locator=audio_locator, gx_run=gx_run)
    write_rows(params.quarantine, outcome.quarantine_records(parsed.rows))
    gx_run.publish(params.report, outcome.banner_html(params.quarantine))
    if outcome.passed:
        write_rows(params.clean, (parsed.rows[position] for position in outcome.clean_positions))
    return outcome
