"""What every suite hands the runner: benchmark items, read from official files with errors that name the
file and line, and the per-item record the runner writes (prompt, output, parsed prediction, score)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tasks.storage import filesystem, inside_root, join


class BenchmarkFormatError(ValueError):
    """A benchmark or predictions file that does not follow the official format; names the file and line."""


@dataclass
class Item:
    """One question: the conversation the model answers (reference message format, `<|AUDIO|>` where the
    clip goes), the clip (a path under the suite's audio root), what the scorer needs, and the fields the
    tables group by."""

    id: str
    messages: list[dict]
    audio: str | None
    reference: dict[str, Any]
    groups: dict[str, str] = field(default_factory=dict)
    # speech | sound | music when known: the mismatched condition swaps clips within a kind.
    kind: str | None = None
    # The official record the item came from, written back (with the outputs) in the official results format.
    source: dict[str, Any] = field(default_factory=dict)
    # The clip whose transcript the model reads, when it is not `audio` (the mismatched condition hears
    # another clip but keeps its own transcript, as in training).
    transcript_audio: str | None = None
    # The item's own new-token cap (a short-answer item of a suite that also asks for long ones), else the
    # suite's decoding.
    max_new_tokens: int | None = None


def read_text(url: str) -> str:
    fs, path = filesystem(url)
    if not fs.exists(path):
        raise BenchmarkFormatError(f"{url}: file not found")
    with fs.open(path, "r", encoding="utf-8") as handle:
        return handle.read()


def read_json(url: str) -> Any:
    text = read_text(url)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BenchmarkFormatError(f"{url}: line {error.lineno}: not valid JSON ({error.msg})") from None


def read_jsonl(url: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-empty line."""
    for number, line in enumerate(read_text(url).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise BenchmarkFormatError(f"{url}: line {number}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise BenchmarkFormatError(f"{url}: line {number}: expected a JSON object, got {type(record).__name__}")
        yield number, record


def require(record: Mapping, fields: Mapping[str, type | tuple[type, ...]], where: str) -> None:
    """Every field present with the official type, or an error naming the place and the field."""
    for name, kind in fields.items():
        if name not in record:
            raise BenchmarkFormatError(f"{where}: missing field {name!r} (official fields: {', '.join(fields)})")
        if not isinstance(record[name], kind):
            raise BenchmarkFormatError(
                f"{where}: field {name!r} must be {getattr(kind, '__name__', kind)}, got {type(record[name]).__name__}"
            )


def json_array_positions(text: str) -> list[int]:
    """The line on which each top-level element of a JSON array starts (errors in a JSON list name a line)."""
    decoder = json.JSONDecoder()
    index = text.index("[") + 1
    lines = []
    while True:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] == "]":
            return lines
        lines.append(text.count("\n", 0, index) + 1)
        _, index = decoder.raw_decode(text, index)


def named_files(url: str, names: Iterable[str], layout: str) -> list[tuple[str, str]]:
    """(name, file URL) for each `layout.format(name)` that exists under the folder `url`; none is an error
    naming the layout the benchmark's release uses."""
    fs, path = filesystem(url)
    found = [(name, join(url, layout.format(name))) for name in names if fs.exists(join(path, layout.format(name)))]
    if not found:
        raise BenchmarkFormatError(f"{url}: none of {layout.format('<name>')} for the names {sorted(names)}")
    return found


def audio_url(root: str, path: str) -> str:
    """An item's audio under the suite's audio root (an absolute path or URL too, if it lies there).

    Links are followed: OutsideRootError (tasks/storage.py) when the audio lives outside the root.
    """
    return inside_root(root, path.removeprefix("./"), allow_absolute=True)


def audio_exists(url: str) -> bool:
    fs, path = filesystem(url)
    return fs.exists(path)
