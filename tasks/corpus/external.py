"""The user's own corpora: audio under a directory or s3:// prefix plus a CSV/JSONL metadata file
(a path column, optional transcript/kind/split/speaker columns; every other column becomes an
attribute). Audio is decoded and resampled to mono WAV like every other clip.

Bad rows are never dropped silently: each is an `IngestProblem` naming the corpus, the metadata row,
the file, what is wrong and the fix. The build either stops with all of them listed or, with
`on_error: report`, leaves them out and writes them to the ingest report.
"""

from __future__ import annotations

import json
import posixpath
import tempfile
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np
import pandas as pd

from tasks.corpus.audio import AudioDecodeError, crop, decode
from tasks.corpus.clips import Clip, SourceContext
from tasks.manifest import KINDS, SPLITS
from tasks.params import ExternalCorpusParams
from tasks.storage import atomic_write, filesystem, locate


@dataclass(frozen=True)
class IngestProblem:
    corpus: str
    row: int  # 1-based data row of the metadata file (the header is not counted)
    path: str
    error: str
    fix: str

    def line(self) -> str:
        return f"  {self.corpus} metadata row {self.row} ({self.path or 'no path'}): {self.error} -> {self.fix}"


class IngestError(ValueError):
    """An external corpus that cannot be ingested; the message lists every problem and its fix."""

    def __init__(self, problems: list[IngestProblem] | str):
        self.problems = [] if isinstance(problems, str) else problems
        text = problems if isinstance(problems, str) else "\n".join(p.line() for p in problems)
        header = "" if isinstance(problems, str) else f"{len(problems)} bad row(s) in external corpora:\n"
        super().__init__(header + text)


class RowProblemError(Exception):
    """Raised while rendering an external clip; the build collects these instead of stopping at once."""

    def __init__(self, problem: IngestProblem):
        self.problem = problem
        super().__init__(problem.line())


def read_metadata(corpus: ExternalCorpusParams) -> pd.DataFrame:
    fs, path = filesystem(corpus.metadata)
    if not fs.exists(path):
        raise IngestError(f"corpus.external[{corpus.name}].metadata: {corpus.metadata} does not exist; fix the URL")
    readers = {".csv": pd.read_csv, ".jsonl": partial(pd.read_json, lines=True, dtype=False, convert_dates=False)}
    reader = readers.get(posixpath.splitext(path)[1])
    if reader is None:
        raise IngestError(f"corpus.external[{corpus.name}].metadata: {corpus.metadata} must end in .csv or .jsonl")
    try:
        with fs.open(path, "rb") as handle:
            frame = reader(handle)
    except ValueError as error:
        raise IngestError(f"{corpus.metadata}: cannot be parsed ({error}); fix the file's format") from None
    _check_columns(corpus, frame)
    return frame


def _check_columns(corpus: ExternalCorpusParams, frame: pd.DataFrame) -> None:
    wanted = {"path_column": corpus.path_column, "kind_column": corpus.kind_column,
              "split_column": corpus.split_column, "speaker_column": corpus.speaker_column}  # fmt: skip
    if "transcript_column" in corpus.model_fields_set:  # the default column may simply be absent
        wanted["transcript_column"] = corpus.transcript_column
    missing = [f"{key}={column!r}" for key, column in wanted.items() if column and column not in frame.columns]
    if missing:
        raise IngestError(
            f"{corpus.metadata}: column(s) {', '.join(missing)} not found (has {list(frame.columns)}); "
            f"fix corpus.external[{corpus.name}] in params.yaml or the file's header"
        )


def external_clips(ctx: SourceContext, corpus: ExternalCorpusParams) -> tuple[list[Clip], list[IngestProblem]]:
    """Clips for the rows that look valid, and a problem for each row whose metadata is bad."""
    frame = read_metadata(corpus)
    special = {corpus.path_column, corpus.transcript_column, corpus.kind_column, corpus.split_column}
    clips, problems = [], []
    for row_number, record in enumerate(frame.to_dict(orient="records"), start=1):
        values = {key: _plain(value) for key, value in record.items() if not _missing(value)}
        path = str(values.get(corpus.path_column, ""))
        problem = partial(IngestProblem, corpus.name, row_number, path)
        kind = corpus.kind or values.get(corpus.kind_column)
        split = values.get(corpus.split_column) if corpus.split_column else None
        url, outside = locate(corpus.audio_root, path, allow_absolute=True)
        if not path:
            problems.append(problem(f"empty {corpus.path_column!r}", "fill in the audio path or delete the row"))
        elif outside:
            problems.append(problem(outside, f"keep the audio under audio_root {corpus.audio_root} (a real file, "
                                             "not a link to one elsewhere) or delete the row"))
        elif kind not in KINDS:
            problems.append(problem(f"{corpus.kind_column}={kind!r} is not one of {KINDS}", "correct the kind value"))
        elif split is not None and split not in SPLITS:
            problems.append(problem(f"{corpus.split_column}={split!r} is not one of {SPLITS}", "correct the split"))
        else:
            clip_id = f"{corpus.name}-{row_number:06d}"
            group = str(values.get(corpus.speaker_column, clip_id)) if corpus.speaker_column else clip_id
            attributes = {k: v for k, v in values.items() if k not in special}
            transcript = str(values.get(corpus.transcript_column, "")) if corpus.transcript_column else ""
            render = partial(_render, url, ctx.rate, ctx.params.max_duration_s, bool(transcript.strip()), problem)
            clips.append(Clip(
                id=clip_id, source=corpus.name, kind=kind, group=group, license=corpus.license,
                transcript=transcript, attributes=attributes, split=split, render=render,
            ))  # fmt: skip
    return clips, problems


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _plain(value):
    """numpy scalars -> Python values, so the attributes serialise to JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _render(url: str, rate: int, max_duration_s: float, transcribed: bool, problem) -> np.ndarray:
    """The clip at the corpus rate, cropped to corpus.max_duration_s like every embedded source; a clip
    with a transcript is refused instead, since cropping would cut what the transcript says."""
    samples = _decoded(url, rate, problem)
    seconds = samples.size / rate
    if seconds > max_duration_s and transcribed:
        raise RowProblemError(problem(
            f"{url} is {seconds:.1f} s, longer than corpus.max_duration_s={max_duration_s:g}, and cropping would "
            "cut its transcript", "split the recording into shorter clips with their own transcripts"))
    return crop(samples, rate, max_duration_s)


def _decoded(url: str, rate: int, problem) -> np.ndarray:
    fs, path = filesystem(url)
    if fs.isdir(path):
        raise RowProblemError(problem(f"{url} is a directory, not an audio file", "point the row at a file"))
    # A local copy named like the original: libsndfile identifies some formats by the file name.
    with tempfile.NamedTemporaryFile(suffix=posixpath.splitext(path)[1]) as local:
        try:
            fs.get_file(path, local.name)
        except FileNotFoundError:
            raise RowProblemError(problem(f"audio file {url} not found", "fix the path or add the file")) from None
        except OSError as error:  # unreadable (permissions, I/O): a finding about this row, named by its URL
            raise RowProblemError(problem(f"cannot read {url}: {error.strerror or error}",
                                          "make the file readable or delete the row")) from None
        try:
            return decode(local.name, rate)[0]
        except AudioDecodeError as error:
            raise RowProblemError(
                problem(f"{url}: {error}", "replace it with a readable wav/flac/ogg/mp3 file or delete the row")
            ) from None


def write_report(problems: list[IngestProblem], url: str) -> None:
    """JSON lines, one problem each (an empty file when there were none)."""
    with atomic_write(url) as handle:
        handle.writelines(json.dumps(asdict(p), sort_keys=True) + "\n" for p in problems)
