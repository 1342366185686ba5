"""Build the corpus: plan every clip from the seed, render them (2 threads: the renderers are
subprocesses and numpy), write 16 kHz mono WAVs and the manifest.

The build happens in a staging folder and replaces the previous corpus only when everything
succeeded, so a failed build (bad external corpus, missing package) loses nothing already produced.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tasks.corpus.audio import write_wav
from tasks.corpus.augment import add_noise
from tasks.corpus.clips import Clip, SourceContext
from tasks.corpus.external import IngestError, IngestProblem, RowProblemError, external_clips, write_report
from tasks.corpus.labels import LABEL_SETS
from tasks.corpus.music import music_clips
from tasks.corpus.real_speech import real_speech_clips
from tasks.corpus.sound import sound_clips
from tasks.corpus.sources import DEFAULT_CACHE
from tasks.corpus.splits import assign_splits
from tasks.corpus.synthetic_speech import synthetic_speech_clips
from tasks.manifest import read_manifest, to_frame, write_manifest
from tasks.params import CorpusParams
from tasks.storage import filesystem, is_remote, join, swap_in

MANIFEST_NAME = "manifest.parquet"
AUDIO_DIR = "audio"
INGEST_REPORT_NAME = "ingest_errors.jsonl"
EMBEDDED_SOURCES = (synthetic_speech_clips, real_speech_clips, sound_clips, music_clips)


@dataclass
class BuildResult:
    manifest: pd.DataFrame
    out: str
    seconds: float
    problems: list[IngestProblem] = field(default_factory=list)


def plan_clips(
    params: CorpusParams, scratch: Path, cache_dir: Path = DEFAULT_CACHE
) -> tuple[list[Clip], list[IngestProblem]]:
    """Every clip of the corpus with its split, in id order, plus the external rows already known bad."""
    ctx = SourceContext(params=params, scratch=scratch, cache_dir=cache_dir)
    clips = add_noise([clip for plan in EMBEDDED_SOURCES for clip in plan(ctx)], ctx)
    problems: list[IngestProblem] = []
    for corpus in params.external:
        if corpus.name in LABEL_SETS:
            raise IngestError(f"corpus.external name {corpus.name!r} is an embedded source's name; choose another")
        external, bad = external_clips(ctx, corpus)
        clips += external
        problems += bad
    _check_unique_ids(clips)
    return sorted(assign_splits(clips, params.splits, params.seed), key=lambda c: c.id), problems


def _check_unique_ids(clips: list[Clip]) -> None:
    seen: set[str] = set()
    duplicates = {clip.id for clip in clips if clip.id in seen or seen.add(clip.id)}
    if duplicates:
        raise IngestError(f"duplicate clip ids {sorted(duplicates)[:5]}: give each external corpus its own name")


def build_corpus(
    params: CorpusParams, out: str | None = None, workers: int = 2, cache_dir: Path = DEFAULT_CACHE
) -> BuildResult:
    """Build the corpus into `out` (default params.out): audio/<source>/<id>.wav + manifest.parquet."""
    started = time.perf_counter()
    out = out or params.out
    local_out = Path(tempfile.mkdtemp(prefix="corpus-")) if is_remote(out) else Path(out)
    local_out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=local_out))
    try:
        scratch = staging / "scratch"
        scratch.mkdir()
        clips, problems = plan_clips(params, scratch, cache_dir)
        rows, render_problems = _render_all(clips, staging, params.sample_rate, workers)
        problems = sorted(problems + render_problems, key=lambda p: (p.corpus, p.row))
        _handle_problems(params, problems)
        frame = to_frame(rows)
        write_manifest(frame, str(staging / MANIFEST_NAME))
        if any(corpus.on_error == "report" for corpus in params.external):
            write_report(problems, str(staging / INGEST_REPORT_NAME))
        shutil.rmtree(scratch)
        _replace(staging, local_out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if is_remote(out):
        _upload(local_out, out)
    return BuildResult(manifest=frame, out=out, seconds=time.perf_counter() - started, problems=problems)


def _render_all(clips: list[Clip], staging: Path, rate: int, workers: int) -> tuple[list[dict], list[IngestProblem]]:
    def render(clip: Clip) -> dict | IngestProblem:
        try:
            samples = clip.render()
        except RowProblemError as error:
            return error.problem
        except Exception as error:
            raise RuntimeError(f"clip {clip.id} ({clip.source}) failed to render: {error}") from error
        path = f"{AUDIO_DIR}/{clip.source}/{clip.id}.wav"
        duration = write_wav(staging / path, samples, rate)
        return {"id": clip.id, "path": path, "source": clip.source, "kind": clip.kind, "duration_s": duration,
                "sample_rate": rate, "transcript": clip.transcript, "attributes": clip.attributes,
                "split": clip.split, "license": clip.license}  # fmt: skip

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(render, clips))
    return [r for r in results if isinstance(r, dict)], [r for r in results if isinstance(r, IngestProblem)]


def _handle_problems(params: CorpusParams, problems: list[IngestProblem]) -> None:
    failing = {corpus.name for corpus in params.external if corpus.on_error == "fail"}
    fatal = [problem for problem in problems if problem.corpus in failing]
    if fatal:
        raise IngestError(fatal)


def corpus_outputs(params: CorpusParams) -> list[str]:
    """The corpus stage's outputs (dvc.yaml outs, and the ingest report when one is written)."""
    return [join(params.out, name) for name in (AUDIO_DIR, MANIFEST_NAME, INGEST_REPORT_NAME)]


def _replace(staging: Path, out: Path) -> None:
    """Swap the staged audio folder and manifest (and report) into `out`."""
    for name in (AUDIO_DIR, MANIFEST_NAME, INGEST_REPORT_NAME):
        target, new = out / name, staging / name
        if new.exists():
            swap_in(new, target)
        elif target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def _upload(local_out: Path, out: str) -> None:
    fs, path = filesystem(out)
    for file in sorted(p for p in local_out.rglob("*") if p.is_file()):
        fs.put_file(str(file), f"{path.rstrip('/')}/{file.relative_to(local_out).as_posix()}")
    shutil.rmtree(local_out)


def corpus_fingerprint(out: str) -> str:
    """sha256 over the manifest rows and the bytes of every audio file, in id order."""
    frame = read_manifest(join(out, MANIFEST_NAME))
    digest = hashlib.sha256(frame.to_json(orient="records").encode())
    for relative in frame["path"]:
        fs, path = filesystem(join(out, relative))
        digest.update(fs.cat_file(path))
    return digest.hexdigest()


def summarize(result: BuildResult) -> dict:
    """The metrics of a build: clip counts per kind/source/split, audio seconds, build time, ingest problems."""
    frame = result.manifest
    return {
        "clips": int(len(frame)),
        "audio_hours": round(float(frame["duration_s"].sum()) / 3600.0, 4),
        "audio_seconds": round(float(frame["duration_s"].sum()), 2),
        "build_seconds": round(result.seconds, 2),
        "clips_per_kind": _counts(frame, "kind"),
        "clips_per_source": _counts(frame, "source"),
        "clips_per_split": _counts(frame, "split"),
        "seconds_per_source": {k: round(float(v), 2) for k, v in frame.groupby("source")["duration_s"].sum().items()},
        "ingest_problems": len(result.problems),
    }


def _counts(frame: pd.DataFrame, column: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in frame[column].value_counts().sort_index().items()}


def summary_markdown(metrics: dict) -> str:
    """The build summary as a markdown table: clips and audio seconds per source, then the totals."""
    lines = ["## corpus", "", "| source | clips | audio s |", "|---|---:|---:|"]
    for source, clips in metrics["clips_per_source"].items():
        lines.append(f"| {source} | {clips} | {metrics['seconds_per_source'][source]:.1f} |")
    lines.append(f"| **total** | **{metrics['clips']}** | **{metrics['audio_seconds']:.1f}** |")
    splits = ", ".join(f"{split}: {count}" for split, count in metrics["clips_per_split"].items())
    kinds = ", ".join(f"{kind}: {count}" for kind, count in metrics["clips_per_kind"].items())
    lines += ["", f"kinds: {kinds}; splits: {splits}; build {metrics['build_seconds']:.1f} s; "
              f"ingest problems: {metrics['ingest_problems']}"]  # fmt: skip
    return "\n".join(lines)
