"""Benchmark batched evaluation: items/s of the evaluation runner (audio loading, VAD, prompt assembly,
greedy generation, scoring) at batch size 1 (the peer) and at larger batches.

    python benchmarks/evaluate.py [--items 32] [--batch-sizes 1 8 16] [--max-new-tokens 32] [--threads 1]
                                  [--out benchmarks/results/evaluate.json]

The model is the smol preset (real SmolLM2-135M-Instruct + Whisper tiny.en, a fresh connector) on the CPU,
or on CUDA when present (bf16). The items are MMAU-format questions (the reference's MMAU prompt) over 1-10 s
synthetic clips written to a temp dir; every batch size answers the same items. Greedy decoding with a fixed
new-token budget, so the work per item is comparable; VAD finds no speech in the tones, so no ASR runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import DeSTA25Config, DeSTA25Model  # noqa: E402
from tasks.evaluate.inference import Answerer  # noqa: E402
from tasks.evaluate.registry import load_suite  # noqa: E402

SMOL = {"llm": "HuggingFaceTB/SmolLM2-135M-Instruct", "encoder": "openai/whisper-tiny.en", "qformer_layers": 2,
        "num_queries": 16}
CHOICES = ["A dog barking", "A car horn", "Rain falling", "A piano playing"]


def mmau_items(directory: Path, count: int) -> Path:
    rows = []
    rng = np.random.default_rng(0)
    for index in range(count):
        seconds = 1.0 + index % 10
        t = np.arange(int(seconds * 16000)) / 16000
        wave = 0.3 * np.sin(2 * np.pi * (200 + 40 * index) * t) + 0.01 * rng.standard_normal(t.size)
        soundfile.write(directory / f"clip{index}.wav", wave.astype(np.float32), 16000)
        rows.append({"id": f"b{index}", "audio_id": f"./clip{index}.wav", "question": "What is the source of the sound?",
                     "choices": CHOICES, "answer": CHOICES[index % 4], "task": "sound", "difficulty": "easy",
                     "sub-category": "benchmark", "category": "Perception", "split": "bench", "dataset": "synthetic"})
    data = directory / "mmau-bench.json"
    data.write_text(json.dumps(rows))
    return data


def measure(model, suite, items, batch_size: int, max_new_tokens: int) -> dict:
    answerer = Answerer(model, batch_size=batch_size)
    kwargs = {"max_new_tokens": max_new_tokens, "do_sample": False}
    answerer.answer(items[:batch_size], suite.audio_base, kwargs)  # warm-up, not timed
    start = time.perf_counter()
    answers = answerer.answer(items, suite.audio_base, kwargs)
    seconds = time.perf_counter() - start
    print(f"batch {batch_size}: {len(items)} items in {seconds:.1f} s", file=sys.stderr, flush=True)
    records = [suite.adapter_instance.record(a.item, a.output) for a in answers]
    return {"batch_size": batch_size, "items": len(items), "seconds": seconds, "items_per_s": len(items) / seconds,
            "answered": sum(r["prediction"] is not None for r in records)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=32)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "evaluate.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_at_start = os.getloadavg()[0]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = "bfloat16" if device == "cuda" else "float32"
    model = DeSTA25Model.from_config(DeSTA25Config(**SMOL, dtype=dtype), device=device)
    with tempfile.TemporaryDirectory() as tmp:
        data = mmau_items(Path(tmp), args.items)
        suite = load_suite("mmau", data=str(data))
        items = suite.adapter_instance.read(str(data))
        rows = [measure(model, suite, items, size, args.max_new_tokens) for size in args.batch_sizes]
    peer = next((r["items_per_s"] for r in rows if r["batch_size"] == 1), rows[0]["items_per_s"])
    for row in rows:
        row["speedup_vs_batch_1"] = row["items_per_s"] / peer
    print(f"evaluation throughput: smol preset, {device} {dtype}, {args.threads} thread(s), {args.items} MMAU-format "
          f"items, greedy, {args.max_new_tokens} new tokens max, load average {load_at_start:.1f} at start")
    print(f"{'batch':>6} {'items/s':>9} {'seconds':>9} {'x batch 1':>10}")
    for row in rows:
        print(f"{row['batch_size']:>6} {row['items_per_s']:>9.3f} {row['seconds']:>9.1f} {row['speedup_vs_batch_1']:>10.2f}")
    result = {"benchmark": "evaluate", "device": device, "dtype": dtype, "threads": args.threads,
              "max_new_tokens": args.max_new_tokens, "machine": platform.processor() or platform.machine(),
              "cpu_count": os.cpu_count(), "load_average_1m_at_start": load_at_start, "rows": rows,
              "note": "a load average above the core count means a shared machine: compare ratios, not rates"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
