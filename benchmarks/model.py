"""Benchmark DeSTA2.5 training steps: forward+backward samples/s and peak memory, SDPA vs eager attention.

    python benchmarks/model.py [--threads 1] [--batch 2] [--steps 3] [--out benchmarks/results/model.json]

Cases: the smol preset (real SmolLM2-135M-Instruct + Whisper tiny.en) in float32 on the CPU, and, when CUDA
is present, the smol preset and a desta25-sized model (Llama-3.1-8B + Whisper-large-v3 shapes, random
weights: the real ones are not downloadable here) in bfloat16 on the GPU. Each case runs in a fresh process,
so its peak memory is its own: peak RSS on the CPU, torch's peak allocated memory on the GPU. Each sample is
one 10 s clip with a transcript and a ~60-token response; one warm-up step is not timed.
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
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import DeSTA25Config, DeSTA25Model, DeSTA25Processor  # noqa: E402
from model.base_models import resolve_base_model  # noqa: E402

from tasks.params import preset_model  # noqa: E402

SMOL, DESTA25 = preset_model("smol").model_dump(), preset_model("desta25").model_dump()
TRANSCRIPT = "please check the number and dial again or hang up and call the operator for assistance"
RESPONSE = (
    "A calm female voice with an American accent reads a short telephone system prompt. She asks the listener to "
    "check the number and dial again, or to hang up and call the operator. The recording is clean, narrowband "
    "and free of background noise."
)


def smol_model(device: str, dtype: str, attention: str) -> DeSTA25Model:
    config = DeSTA25Config(**{**SMOL, "dtype": dtype, "attn_implementation": attention})
    return DeSTA25Model.from_config(config, device=device)


# The paper's base-model shapes (Llama-3.1-8B-Instruct, Whisper-large-v3).
LLAMA31_8B = {
    "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "max_position_embeddings": 131072,
}
WHISPER_LARGE_V3 = {
    "vocab_size": 51866, "num_mel_bins": 128, "d_model": 1280, "encoder_layers": 32, "decoder_layers": 32,
    "encoder_attention_heads": 20, "decoder_attention_heads": 20, "encoder_ffn_dim": 5120, "decoder_ffn_dim": 5120,
}


def desta25_sized_model(device: str, dtype: str, attention: str) -> DeSTA25Model:
    """Random weights in the paper's shapes; the smol tokenizer stands in (only its placeholder id is used)."""
    from transformers import (
        LlamaConfig,
        LlamaForCausalLM,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
    )

    config = DeSTA25Config(**{**DESTA25, "dtype": dtype, "attn_implementation": attention})
    torch_dtype = getattr(torch, dtype)
    with torch.device(device):
        llm = LlamaForCausalLM._from_config(LlamaConfig(**LLAMA31_8B), dtype=torch_dtype, attn_implementation=attention)
        whisper = WhisperForConditionalGeneration._from_config(
            WhisperConfig(**WHISPER_LARGE_V3), dtype=torch_dtype, attn_implementation=attention
        )
    smol_llm, smol_encoder = resolve_base_model(SMOL["llm"]), resolve_base_model(SMOL["encoder"])
    processor = DeSTA25Processor.from_config(config, smol_llm, smol_encoder)
    processor.feature_extractor = WhisperFeatureExtractor(feature_size=WHISPER_LARGE_V3["num_mel_bins"])
    processor.max_length = LLAMA31_8B["max_position_embeddings"]
    return DeSTA25Model(config, llm, whisper, processor)


BUILDERS = {"smol": smol_model, "desta25-sized": desta25_sized_model}


def training_batch(processor: DeSTA25Processor, batch_size: int):
    """Rows with one 10 s noise clip each (content does not change the cost) and a fixed transcript."""
    rng = np.random.default_rng(0)

    def conversation() -> list[dict]:
        clip = {"audio": (0.1 * rng.standard_normal(160_000).astype(np.float32), 16000), "text": TRANSCRIPT}
        return [
            {"role": "system", "content": "Focus on the audio clips and instructions."},
            {"role": "user", "content": "<|AUDIO|>\nDescribe the audio in detail.", "audios": [clip]},
        ]

    return processor([conversation() for _ in range(batch_size)], responses=[RESPONSE] * batch_size)


def run_case(case: dict) -> dict:
    """One (model, device, dtype, attention) case in this process: timed forward+backward steps."""
    torch.set_num_threads(case["threads"])
    torch.manual_seed(0)
    cuda = case["device"] == "cuda"
    model = BUILDERS[case["model"]](case["device"], case["dtype"], case["attention"]).train()
    batch = training_batch(model.processor, case["batch"]).to(case["device"])

    def step() -> None:
        model(**batch).loss.backward()
        model.zero_grad(set_to_none=True)

    step()  # warm-up: kernel selection, allocator growth
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for _ in range(case["steps"]):
        step()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    peak_bytes = torch.cuda.max_memory_allocated() if cuda else rss_bytes
    return {
        **case,
        "sequence_tokens": int(batch["input_ids"].shape[1]),
        "seconds_per_step": seconds / case["steps"],
        "samples_per_s": case["batch"] * case["steps"] / seconds,
        "peak_memory_gib": peak_bytes / 2**30,
        "peak_memory_kind": "cuda max_memory_allocated" if cuda else "process peak RSS",
        "attention_in_use": {"llm": model.llm.config._attn_implementation,
                             "encoder": model.whisper.config._attn_implementation},
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }


def cases(args) -> list[dict]:
    common = {"threads": args.threads, "steps": args.steps}
    planned = [
        {"model": "smol", "device": "cpu", "dtype": "float32", "attention": attention, "batch": args.batch}
        for attention in ("sdpa", "eager")
    ]
    if torch.cuda.is_available():
        planned += [
            {"model": model, "device": "cuda", "dtype": "bfloat16", "attention": attention, "batch": batch}
            for model, batch in (("smol", 8), ("desta25-sized", 4))
            for attention in ("sdpa", "eager")
        ]
    return [{**common, **case} for case in planned]


# (title, result key, format) of each printed column.
COLUMNS = [
    ("model", "model", "<14"), ("device", "device", "<6"), ("dtype", "dtype", "<8"), ("attn", "attention", "<5"),
    ("batch", "batch", ">5"), ("tokens", "sequence_tokens", ">6"), ("s/step", "seconds_per_step", ">7.2f"),
    ("samples/s", "samples_per_s", ">9.2f"), ("peak GiB", "peak_memory_gib", ">8.2f"),
]


def print_table(results: list[dict]) -> None:
    header = " ".join(f"{title:{fmt[0]}{fmt[1:].split('.')[0]}}" for title, _, fmt in COLUMNS)
    print(header)
    print("-" * len(header))
    for result in results:
        print(" ".join(f"{result[key]:{fmt}}" for _, key, fmt in COLUMNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1: the shared 2-core machine)")
    parser.add_argument("--batch", type=int, default=2, help="samples per CPU step")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per case")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "model.json")
    args = parser.parse_args()

    results = []
    # A fresh process per case: clean peak memory, and one case's allocations never slow the next.
    for case in cases(args):
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            results.append(pool.submit(run_case, case).result())

    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"platform": platform.platform(), "torch": torch.__version__, "cpu_threads": args.threads,
               "cuda_device": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    args.out.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
