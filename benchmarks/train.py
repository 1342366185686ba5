"""Benchmark a training step of the train stage: samples/s, tokens/s, peak memory, and (GPU) MFU.

    python benchmarks/train.py [--threads 1] [--batch 4] [--steps 4] [--out benchmarks/results/train.json]

A step is what the Trainer does per batch: forward, backward, AdamW update of the connector. CPU cases use
the smol preset (real SmolLM2-135M-Instruct + Whisper tiny.en) on the stage's own data path
(tasks/train/data.py) over the first training rows of data/generated/clean.jsonl (run the pipeline first):

    reference   log-mel in, the frozen encoder runs every step, the Q-Former reads all 1,500 states
    cached      the encoder's tapped states computed once per clip (their one-off cost is reported apart)
    cropped     cached, and the states of the silence padding up to 30 s masked out / cropped away
    cropped+bf16  the same under bfloat16 autocast (this CPU has AVX-512 BF16)

On a GPU host a desta25-sized case (Llama-3.1-8B + Whisper-large-v3 shapes, random weights, bf16, 12 rows of
300 tokens, the encoder every step) reports MFU: model FLOPs per step / step time / the GPU's bf16 peak. The
FLOPs count the frozen LLM's forward (2 N T) and its backward to the inputs only (2 N T: no weight
gradients), the encoder's forward over its windows (2 N_enc frames) and the connector's forward + backward
(6 N_conn per query-state pair is negligible and left out); attention score FLOPs are left out too, so the
figure is a slight underestimate. Each case runs in a fresh process, so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.model import RESPONSE, TRANSCRIPT, desta25_sized_model  # noqa: E402
from model import DeSTA25Config, DeSTA25Model  # noqa: E402
from tasks.train.data import AudioSource, Collator, RowDataset, prepare_examples  # noqa: E402

ROWS = REPO_ROOT / "data" / "generated" / "clean.jsonl"
AUDIO_ROOT = REPO_ROOT / "data" / "corpus"
SMOL = {"llm": "HuggingFaceTB/SmolLM2-135M-Instruct", "encoder": "openai/whisper-tiny.en", "qformer_layers": 2,
        "num_queries": 16}
CPU_CASES = {
    "reference": {"cached": False, "crop": False, "bf16": False},
    "cached": {"cached": True, "crop": False, "bf16": False},
    "cropped": {"cached": True, "crop": True, "bf16": False},
    "cropped+bf16": {"cached": True, "crop": True, "bf16": True},
}
# Dense bf16 tensor-core peaks (vendor datasheets), FLOP/s.
GPU_BF16_PEAK = {"H200": 989.5e12, "H100": 989.5e12, "A100": 312e12, "L40S": 362e12}


def smol_rows(limit: int) -> list[dict]:
    from tasks.rows import read_rows

    rows = [row for row in read_rows(str(ROWS)) if row.get("split") == "train"]
    return rows[:limit]


def run_smol_case(case: dict) -> dict:
    torch.set_num_threads(case["threads"])
    torch.manual_seed(0)
    settings = CPU_CASES[case["name"]]
    config = DeSTA25Config(**SMOL, mask_padding_frames=settings["crop"])
    model = DeSTA25Model.from_config(config).train()
    rows = smol_rows(case["batch"] * (case["steps"] + 1))
    examples, _ = prepare_examples(rows, model.processor, AUDIO_ROOT, max_tokens=300)
    audio = AudioSource(model, cached=settings["cached"])
    dataset = RowDataset(examples, audio)
    collator = Collator(model.processor, cached=settings["cached"], mask_padding_frames=settings["crop"])
    cache_started = time.perf_counter()
    items = [dataset[i] for i in range(len(dataset))]  # fills the cache (cached cases)
    cache_seconds = time.perf_counter() - cache_started
    batches = [collator(items[i : i + case["batch"]]) for i in range(0, len(items), case["batch"])]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if settings["bf16"] else nullcontext()

    def step(batch: dict) -> None:
        with autocast:
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(batches[0])  # warm-up
    started = time.perf_counter()
    for batch in batches[1:]:
        step(batch)
    seconds = time.perf_counter() - started
    timed = batches[1:]
    return {
        **case, **settings,
        "rows": sum(len(b["input_ids"]) for b in timed),
        "tokens": sum(int(b["attention_mask"].sum()) for b in timed),
        "padded_tokens": sum(b["input_ids"].numel() for b in timed),
        "seconds_per_step": seconds / len(timed),
        "samples_per_s": sum(len(b["input_ids"]) for b in timed) / seconds,
        "tokens_per_s": sum(int(b["attention_mask"].sum()) for b in timed) / seconds,
        "cache_seconds_per_clip": cache_seconds / len(items) if settings["cached"] else None,
        "peak_memory_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30,
        "peak_memory_kind": "process peak RSS",
    }


def run_desta25_case(case: dict) -> dict:
    """Random desta25-sized weights on the GPU, synthetic 10 s clips, rows padded to 300 tokens."""
    from benchmarks.model import training_batch

    torch.manual_seed(0)
    model = desta25_sized_model("cuda", "bfloat16", "sdpa").train()
    batch = training_batch(model.processor, case["batch"]).to("cuda")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for _ in range(case["steps"]):
        step()
    torch.cuda.synchronize()
    seconds = (time.perf_counter() - started) / case["steps"]
    tokens = int(batch["attention_mask"].sum())
    llm_params = sum(p.numel() for p in model.llm.parameters())
    encoder_layers = model.whisper.model.encoder.layers[: model.tapped_layers[-1] + 1]
    encoder_params = sum(p.numel() for p in encoder_layers.parameters())
    windows = int(batch["input_features"].shape[0])
    flops = 4 * llm_params * tokens + 2 * encoder_params * 1500 * windows
    name = torch.cuda.get_device_name()
    peak = next((value for key, value in GPU_BF16_PEAK.items() if key in name), None)
    return {
        **case, "device_name": name, "rows": case["batch"], "tokens": tokens,
        "sequence_tokens": int(batch["input_ids"].shape[1]), "seconds_per_step": seconds,
        "samples_per_s": case["batch"] / seconds, "tokens_per_s": tokens / seconds,
        "model_tflop_per_step": flops / 1e12, "mfu": (flops / seconds / peak) if peak else None,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30, "peak_memory_kind": "cuda max_memory_allocated",
    }


def run_case(case: dict) -> dict:
    return run_desta25_case(case) if case["name"] == "desta25-sized" else run_smol_case(case)


COLUMNS = [("case", "name", "<14"), ("thr", "threads", ">3"), ("batch", "batch", ">5"), ("s/step", "seconds_per_step", ">7.2f"),
           ("samples/s", "samples_per_s", ">9.2f"), ("tokens/s", "tokens_per_s", ">9.1f"),
           ("peak GiB", "peak_memory_gib", ">8.2f")]


def print_table(results: list[dict]) -> None:
    header = " ".join(f"{title:{fmt[0]}{fmt[1:].split('.')[0]}}" for title, _, fmt in COLUMNS) + "  notes"
    print(header)
    print("-" * len(header))
    base = next((r for r in results if r["name"] == "reference" and r["threads"] == results[0]["threads"]), None)
    for result in results:
        notes = []
        if base and result["name"] != "desta25-sized":
            notes.append(f"{result['samples_per_s'] / base['samples_per_s']:.2f}x reference")
        if result.get("cache_seconds_per_clip"):
            notes.append(f"cache {result['cache_seconds_per_clip']:.2f} s/clip once")
        if result.get("mfu") is not None:
            notes.append(f"MFU {100 * result['mfu']:.1f}% of {result['device_name']} bf16 peak")
        print(" ".join(f"{result[key]:{fmt}}" for _, key, fmt in COLUMNS) + "  " + ", ".join(notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="CPU thread counts to measure")
    parser.add_argument("--batch", type=int, default=4, help="rows per CPU step (the smol preset's)")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per case")
    parser.add_argument("--cases", nargs="+", default=list(CPU_CASES), choices=list(CPU_CASES))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "train.json")
    args = parser.parse_args()

    planned = [{"name": name, "threads": threads, "batch": args.batch, "steps": args.steps}
               for threads in args.threads for name in args.cases]
    if torch.cuda.is_available():
        planned.append({"name": "desta25-sized", "threads": 0, "batch": 12, "steps": args.steps})
    results = []
    for case in planned:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            results.append(pool.submit(run_case, case).result())
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"platform": platform.platform(), "torch": torch.__version__,
               "cuda_device": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
               "note": "2 CPU cores shared with other jobs unless rerun on an idle machine"}
    args.out.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
