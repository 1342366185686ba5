"""How fast is the corpus gate at DeSTA-AQA5M scale (5M rows)?

Times each step of the manifest suite on a synthetic manifest (metadata only: the file-level columns
are filled with passing measurements, so every expectation runs but no file is read), then the audio
probe on real wav files, and extrapolates both to 5M rows. Prints a table, writes JSON.

    python -m benchmarks.validate [--rows 1000000] [--probe-files 200] [--out benchmarks/results/validate.json]
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
import pandas as pd
import soundfile as sf

from tasks.corpus.labels import LABEL_SETS
from tasks.manifest import COLUMNS
from tasks.params import load_params
from tasks.rows import write_rows
from tasks.storage import locate
from tasks.validate.audio import AudioProbe, probe_files
from tasks.validate.checks import GxRun
from tasks.validate.corpus import manifest_checks, manifest_frame
from tasks.validate.outcome import decide

TARGET_ROWS = 5_000_000  # DeSTA-AQA5M
DEFECT_FRACTION = 0.01  # rows given an unknown label or an out-of-range duration, so quarantine paths run


def synthetic_manifest(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sources = sorted(LABEL_SETS)
    source = rng.choice(sources, rows)
    kind = np.where(np.isin(source, ["espeak-ng", "flite", "asterisk", "pyannote"]), "speech",
                    np.where(np.isin(source, ["sox-music", "asterisk-moh"]), "music", "sound"))
    attributes = [
        json.dumps({name: values[index % len(values)] for name, values in LABEL_SETS[src].items()}, sort_keys=True)
        for index, src in enumerate(source)
    ]
    duration = rng.uniform(0.5, 30.0, rows)
    defects = rng.random(rows) < DEFECT_FRACTION
    duration[defects & (rng.random(rows) < 0.5)] = -1.0
    for index in np.flatnonzero(defects & (duration > 0)):
        attributes[index] = json.dumps({next(iter(LABEL_SETS[source[index]])): "not-a-label"})
    frame = pd.DataFrame({
        "id": [f"clip-{index:08d}" for index in range(rows)],
        "path": [f"audio/{index % 1000:03d}/clip-{index:08d}.wav" for index in range(rows)],
        "source": source, "kind": kind, "duration_s": duration, "sample_rate": 16000,
        "transcript": np.where(kind == "speech", "a short sentence that was said", ""),
        "attributes": attributes,
        "split": rng.choice(["train", "valid", "test"], rows, p=[0.8, 0.1, 0.1]),
        "license": "CC0-1.0",
    })
    return frame.astype(COLUMNS)


def passing_probes(manifest: pd.DataFrame, rate: int) -> list[AudioProbe]:
    return [AudioProbe(sample_rate=float(rate), seconds=seconds, rms_dbfs=-20.0, clipped_fraction=0.0)
            for seconds in manifest["duration_s"].abs()]


def timed(step: str, rows: int, timings: list[dict], function, *args):
    start = time.perf_counter()
    result = function(*args)
    seconds = time.perf_counter() - start
    timings.append({"step": step, "rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)})
    return result


def bench_manifest_suite(rows: int, report_dir: Path) -> tuple[list[dict], dict]:
    params = load_params().validate_corpus
    manifest = synthetic_manifest(rows)
    timings: list[dict] = []
    probes = passing_probes(manifest, params.sample_rate)
    with GxRun() as gx_run:
        located = timed("confine paths (links followed)", rows, timings,
                        lambda: [locate(str(report_dir), path) for path in manifest["path"]])
        frame = timed("work frame (coerce + derive)", rows, timings, manifest_frame, manifest, params, LABEL_SETS,
                      probes, [problem for _, problem in located])
        checks = manifest_checks(frame, params, LABEL_SETS)
        results = timed(f"GX suite ({len(checks)} expectations)", rows, timings,
                        gx_run.validate, "manifest", frame, checks)
        outcome = timed("decide (quarantine map)", rows, timings, decide, "validate_corpus", results,
                        manifest["id"].tolist(), params.max_failed_fraction)
        records = manifest.to_dict("records")
        timed("write quarantine JSONL", rows, timings, write_rows, str(report_dir / "quarantine.jsonl"),
              outcome.quarantine_records(records))
        timed("data docs (build + offline assets + copy)", rows, timings, gx_run.publish, str(report_dir / "docs"),
              outcome.banner_html(str(report_dir / "quarantine.jsonl")))
    total = sum(t["seconds"] for t in timings)
    summary = {"rows": rows, "expectations": len(checks), "quarantined": len(outcome.failures),
               "seconds": round(total, 2), "rows_per_s": round(rows / total),
               f"estimated_seconds_{TARGET_ROWS}": round(total * TARGET_ROWS / rows, 1)}
    return timings, summary


def bench_probe(files: int, workers: int, scratch: Path) -> dict:
    rng = np.random.default_rng(1)
    audio = scratch / "audio"
    audio.mkdir()
    paths = []
    for index in range(files):
        seconds = float(rng.uniform(2.0, 10.0))  # DeSTA clips are mostly a few seconds long
        sf.write(audio / f"{index}.wav", 0.1 * rng.standard_normal(int(seconds * 16000)).astype(np.float32), 16000)
        paths.append(f"audio/{index}.wav")
    start = time.perf_counter()
    probes = probe_files([url for url, _ in (locate(str(scratch), path) for path in paths)], workers)
    seconds = time.perf_counter() - start
    assert all(probe and probe.decode_error is None for probe in probes)
    audio_hours = sum(probe.seconds for probe in probes) / 3600
    return {"files": files, "workers": workers, "seconds": round(seconds, 3), "files_per_s": round(files / seconds, 1),
            "audio_hours_per_s": round(audio_hours / seconds, 4),
            f"estimated_hours_{TARGET_ROWS}": round(TARGET_ROWS / (files / seconds) / 3600, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--probe-files", type=int, default=200)
    parser.add_argument("--out", default="benchmarks/results/validate.json")
    args = parser.parse_args(argv)
    workers = load_params().validate_corpus.probe_workers
    with tempfile.TemporaryDirectory() as scratch:
        timings, suite = bench_manifest_suite(args.rows, Path(scratch))
        probe = bench_probe(args.probe_files, workers, Path(scratch))

    print(f"{'step':<34} {'rows':>10} {'seconds':>9} {'rows/s':>12}")
    for row in timings:
        print(f"{row['step']:<34} {row['rows']:>10} {row['seconds']:>9.2f} {row['rows_per_s']:>12,}")
    print(f"{'manifest suite, total':<34} {suite['rows']:>10} {suite['seconds']:>9.2f} {suite['rows_per_s']:>12,}")
    print(f"-> {TARGET_ROWS:,} rows: ~{suite[f'estimated_seconds_{TARGET_ROWS}']:.0f} s for the suite (metadata)")
    print(f"audio probe: {probe['files']} real wav files, {probe['workers']} workers: {probe['files_per_s']} files/s "
          f"-> {TARGET_ROWS:,} files: ~{probe[f'estimated_hours_{TARGET_ROWS}']} h on this machine")

    result = {"benchmark": "validate", "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                   "omp_threads": os.environ.get("OMP_NUM_THREADS")},
              "manifest_suite": {"steps": timings, **suite}, "audio_probe": probe}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
