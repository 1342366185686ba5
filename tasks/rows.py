"""The training-row format: the contract between generation, the target gate, training and evaluation.

JSONL, one row per line, sorted by id. A row is the DeSTA training format (`messages` + `response`,
the user turn holding `<|AUDIO|>` and `audios: [{audio, text}]`) plus our provenance fields
(seed_description, prompt, prompt_id, generator, finish_reason, response_tokens, flags); ROW_SCHEMA
is the full contract of a row this project writes, which the target gate enforces. Rows of the
public DeSTA-AQA5M release have only messages/response (+ id, dataset, seed_description, prompt) and
load unchanged: `read_rows` requires the training fields only and treats provenance as optional.

Here: the schema, building a row's messages and flags, reading, and the atomic writer every JSONL
output of the pipeline goes through (rows, clean rows, quarantine files).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from tasks.manifest import KINDS, SPLITS
from tasks.storage import filesystem, write_text

REQUIRED_FIELDS = ("messages", "response")
_STRING = {"type": "string"}
ROW_SCHEMA = {
    "type": "object",
    "required": ["id", "dataset", "kind", "split", *REQUIRED_FIELDS, "prompt", "prompt_id", "generator",
                 "finish_reason", "flags"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "dataset": _STRING,
        "kind": {"enum": list(KINDS)},
        "split": {"enum": list(SPLITS)},
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "properties": {
                    "role": {"enum": ["system", "user", "assistant"]},
                    "content": _STRING,
                    "audios": {"type": "array", "items": {
                        "type": "object", "required": ["audio", "text"],
                        "properties": {"audio": _STRING, "text": _STRING}}},
                },
            },
            "contains": {"type": "object", "properties": {"role": {"const": "user"}}, "required": ["role"]},
        },
        "response": _STRING,
        "seed_description": _STRING,
        "prompt": _STRING,
        "prompt_id": _STRING,
        "generator": {"type": "object", "required": ["model"],
                      "properties": {"model": _STRING, "foreign_override": {"type": "boolean"}}},
        "finish_reason": {"type": ["string", "null"]},
        "response_tokens": {"type": "integer", "minimum": 0},
        "flags": {"type": "array", "items": _STRING},
    },
}
_SCHEMA = Draft202012Validator(ROW_SCHEMA)
# Chat-template and seed-description markers that a well-formed answer never contains.
ECHO_MARKERS = (
    "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
    "<|eot_id|>", "<|endoftext|>", "<|AUDIO|>", "(Gender:", "(Audio category:",
)
TIMESTAMP = re.compile(r"\[\d{2}:\d{2}-\d{2}:\d{2}\]")
ATTRIBUTE_BLOCK = re.compile(r"\(([^()]*: [^()]*)\)")
# A \u escape of a UTF-16 surrogate: valid JSON, but unpaired it decodes to no Unicode text.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# An instruction shorter than this is too generic to count as an echo when it appears in an answer.
MIN_ECHO_CHARS = 24


def generation_messages(system_prompt: str, seed_description: str, instruction: str) -> list[dict]:
    """What the backbone reads: the seed description stands where the audio will be in training."""
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": f"{seed_description}\n{instruction}"},
    ]


def training_messages(system_prompt: str, audio_locator: str, instruction: str, audio: str,
                      transcript: str) -> list[dict]:
    """The stored training input: the same turn with the description replaced by the audio locator."""
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": f"{audio_locator}\n{instruction}",
         "audios": [{"audio": audio, "text": transcript or " "}]},
    ]


def response_flags(response: str, finish_reason: str, seed_description: str, instruction: str,
                   system_prompt: str, refusal_phrases: Sequence[str] = ()) -> list[str]:
    """Why a response is suspect (asked again, then left to the validation gate); empty when it looks real."""
    flags = []
    if not response.strip():
        flags.append("empty")
    if finish_reason == "length":
        flags.append("truncated")
    if _echoes_template(response, seed_description, instruction, system_prompt):
        flags.append("template_echo")
    if any(re.search(phrase_pattern(phrase, ignore_case=True), response) for phrase in refusal_phrases):
        flags.append("refusal")
    return flags


def phrase_pattern(phrase: str, ignore_case: bool) -> str:
    """A regex finding `phrase` literally; a typographic apostrophe (’) matches too: models write both."""
    pattern = re.escape(phrase).replace("'", "['’]")
    return f"(?i){pattern}" if ignore_case else pattern


def _echoes_template(response: str, seed_description: str, instruction: str, system_prompt: str) -> bool:
    if any(marker in response for marker in ECHO_MARKERS) or TIMESTAMP.search(response):
        return True
    copied = ATTRIBUTE_BLOCK.findall(seed_description)
    copied += [text for text in (instruction, system_prompt) if len(text) >= MIN_ECHO_CHARS]
    lowered = response.lower()
    # Final punctuation dropped: an echo is often followed by ":" instead of the original "." or "?".
    return any(text.lower().rstrip(".?!") in lowered for text in copied)


def schema_problem(row: dict) -> str | None:
    """The most relevant way `row` breaks ROW_SCHEMA ("where: what"), or None when it follows it."""
    error = best_match(_SCHEMA.iter_errors(row))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "row"
    return f"{where}: {error.message}"


def check_row(row: dict, where: str) -> dict:
    """Raise ValueError naming `where` when a row lacks the training fields; return it unchanged."""
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [name for name in REQUIRED_FIELDS if name not in row]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}; a training row needs messages and response")
    if not isinstance(row["messages"], list) or not all(isinstance(m, dict) and "role" in m and "content" in m
                                                        for m in row["messages"]):
        raise ValueError(f"{where}: messages must be a list of {{role, content}} objects")
    return row


def jsonl_lines(lines: Iterable[bytes | str]) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text without its line end, why the bytes are not UTF-8 or None) for each line.

    Read files as bytes: one undecodable line is then that line's problem, not the whole file's. Its
    text shows the bad bytes escaped (`\\xff`). A UTF-8 byte-order mark before line 1 is dropped.
    """
    for number, line in enumerate(lines, start=1):
        error = None
        if isinstance(line, bytes):
            line = line.removeprefix(codecs.BOM_UTF8) if number == 1 else line
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as failure:
                error = f"not valid UTF-8: byte 0x{line[failure.start]:02x} at byte {failure.start + 1} of the line"
                line = line.decode("utf-8", "backslashreplace")
        elif number == 1:
            line = line.removeprefix("\ufeff")
        yield number, line.rstrip("\r\n"), error


def loads_row(text: str):
    """json.loads, refusing strings with an unpaired surrogate (`"\\ud800"`): no UTF-8 writer can store them."""
    value = json.loads(text)
    if SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(f"{error.object[error.start]!r} is an unpaired surrogate, not text") from None
    return value


def parse_rows(lines: Iterable[bytes | str], source: str) -> list[dict]:
    rows = []
    for number, line, error in jsonl_lines(lines):
        if error:
            raise ValueError(f"{source}:{number}: {error}; re-encode the file as UTF-8")
        if not line.strip():
            continue
        try:
            row = loads_row(line)
        except ValueError as error:  # json.JSONDecodeError is one
            raise ValueError(f"{source}:{number}: not valid JSON ({error})") from None
        rows.append(check_row(row, f"{source}:{number}"))
    return rows


def read_rows(url: str) -> list[dict]:
    """Rows from a JSONL file (local path or s3://), ours or DeSTA-AQA5M's, unchanged."""
    fs, path = filesystem(url)
    with fs.open(path, "rb") as handle:
        return parse_rows(handle, url)


def dumps_rows(rows: Iterable[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def write_rows(url: str, rows: Iterable[dict]) -> None:
    """Write rows as JSONL, atomically (tasks.storage.atomic_write)."""
    write_text(url, dumps_rows(rows))
