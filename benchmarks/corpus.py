"""Corpus-building speed: clips/s and audio-seconds/s per source (one thread), then the whole build.

    python -m benchmarks.corpus [--params params.yaml] [--workers 2] [--out benchmarks/results/corpus.json]

Per-source numbers render every planned clip of that source on one thread and write its WAV; the
end-to-end row is `build_corpus` with the given worker threads (planning, rendering, manifest, swap).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from tasks.corpus import build_corpus, plan_clips
from tasks.corpus.audio import write_wav
from tasks.params import load_params


def per_source(params, scratch: Path) -> dict[str, dict]:
    clips, _ = plan_clips(params, scratch)
    results: dict[str, dict] = {}
    for source in sorted({clip.source for clip in clips}):
        chosen = [clip for clip in clips if clip.source == source]
        started, audio_s = time.perf_counter(), 0.0
        for clip in chosen:
            audio_s += write_wav(scratch / "bench" / f"{clip.id}.wav", clip.render(), params.sample_rate)
        seconds = time.perf_counter() - started
        results[source] = {"clips": len(chosen), "audio_s": round(audio_s, 2), "wall_s": round(seconds, 3),
                           "clips_per_s": round(len(chosen) / seconds, 2),
                           "audio_s_per_s": round(audio_s / seconds, 2)}  # fmt: skip
    return results


def end_to_end(params, out: Path, workers: int) -> dict:
    result = build_corpus(params, out=str(out), workers=workers)
    audio_s = float(result.manifest["duration_s"].sum())
    return {"clips": len(result.manifest), "audio_s": round(audio_s, 2), "wall_s": round(result.seconds, 3),
            "clips_per_s": round(len(result.manifest) / result.seconds, 2),
            "audio_s_per_s": round(audio_s / result.seconds, 2), "workers": workers}  # fmt: skip


def table(rows: dict[str, dict]) -> str:
    lines = [f"{'source':<22}{'clips':>7}{'audio s':>10}{'wall s':>9}{'clips/s':>10}{'audio s/s':>11}"]
    for name, row in rows.items():
        lines.append(f"{name:<22}{row['clips']:>7}{row['audio_s']:>10.1f}{row['wall_s']:>9.2f}"
                     f"{row['clips_per_s']:>10.1f}{row['audio_s_per_s']:>11.1f}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/corpus.json")
    args = parser.parse_args(argv)
    params = load_params(args.params).corpus
    with tempfile.TemporaryDirectory() as scratch:
        rows = per_source(params, Path(scratch))
        rows[f"END-TO-END ({args.workers} thr)"] = end_to_end(params, Path(scratch) / "corpus", args.workers)
    print(table(rows))
    report = {"benchmark": "corpus", "params": args.params, "machine": platform.machine(),
              "cpus": len(os.sched_getaffinity(0)), "numpy": np.__version__, "results": rows}  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
