"""Builders for the gate tests: real small wav files, manifest rows and generated rows."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from tasks import system_files
from tasks.generate.prompts import load_prompt_pool
from tasks.params import load_params

RATE = 16000
SPEECH_TEXT = "the quick brown fox"
# A small label vocabulary in the shape of tasks/corpus/labels.py LABEL_SETS.
LABELS = {
    "sox-sound": {"category": ["pure tone", "noise"], "waveform": ["sine"]},
    "espeak-ng": {"gender": ["male", "female"]},
}


def tone(seconds: float = 1.0, frequency: float = 440.0, amplitude: float = 0.3, rate: int = RATE) -> np.ndarray:
    time = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * time)).astype(np.float32)


def espeak(path: Path, text: str) -> float:
    """Real synthetic speech at 16 kHz (espeak-ng writes 22.05 kHz); returns its duration."""
    with tempfile.TemporaryDirectory() as scratch:
        raw = os.path.join(scratch, "speech.wav")
        subprocess.run([str(system_files.ESPEAK_NG.path), "-w", raw, text], check=True, capture_output=True)
        samples, rate = sf.read(raw, dtype="float32")
    samples = resample_poly(samples, RATE, rate).astype(np.float32)
    sf.write(path, samples, RATE)
    return len(samples) / RATE


def build_audio(root: Path) -> dict[str, float]:
    """Good and deliberately broken files under root/audio; returns good file -> duration."""
    audio = root / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    durations = {}
    for number in range(4):
        sf.write(audio / f"tone_{number}.wav", tone(frequency=220.0 * (number + 1)), RATE)
        durations[f"audio/tone_{number}.wav"] = 1.0
    noise = np.random.default_rng(0).uniform(-0.2, 0.2, RATE).astype(np.float32)
    sf.write(audio / "noise.wav", noise, RATE)
    durations["audio/noise.wav"] = 1.0
    durations["audio/speech.wav"] = espeak(audio / "speech.wav", SPEECH_TEXT)
    sf.write(audio / "silent.wav", np.zeros(RATE, dtype=np.float32), RATE)
    sf.write(audio / "clipped.wav", np.clip(tone(amplitude=4.0), -1.0, 1.0), RATE)
    sf.write(audio / "rate8k.wav", tone(rate=8000), 8000)
    (audio / "corrupt.wav").write_bytes(b"RIFF" + np.random.default_rng(1).bytes(4000))
    whole = (audio / "tone_0.wav").read_bytes()
    (audio / "truncated.wav").write_bytes(whole[: len(whole) // 2])
    # A valid file outside the data root: a "../" path must be refused even though it would decode.
    sf.write(root.parent / "outside.wav", tone(), RATE)
    # Links: one inside the root pointing out of it (refused), one pointing to a file inside (fine).
    (audio / "linked_outside.wav").symlink_to(root.parent / "outside.wav")
    (audio / "linked_inside.wav").symlink_to(audio / "tone_0.wav")
    return durations


def manifest_row(number: int, path: str = "audio/tone_0.wav", **overrides) -> dict:
    row = {
        "id": f"clip-{number:04d}", "path": path, "source": "sox-sound", "kind": "sound", "duration_s": 1.0,
        "sample_rate": RATE, "transcript": "", "attributes": {"category": "pure tone", "waveform": "sine"},
        "split": "train", "license": "CC0-1.0",
    }
    row.update(overrides)
    return row


def speech_row(number: int, seconds: float, **overrides) -> dict:
    speech = {"source": "espeak-ng", "kind": "speech", "duration_s": seconds, "transcript": SPEECH_TEXT,
              "attributes": {"gender": "female"}}
    return manifest_row(number, "audio/speech.wav", **(speech | overrides))


def clean_rows(count: int, speech_seconds: float) -> list[dict]:
    """`count` valid rows, 80/10/10 train/valid/test, tones and speech alternating."""
    rows = []
    for number in range(count):
        split = "valid" if number % 10 == 8 else "test" if number % 10 == 9 else "train"
        if number % 2:
            rows.append(speech_row(number, speech_seconds, split=split))
        else:
            rows.append(manifest_row(number, f"audio/tone_{number % 4}.wav", split=split))
    return rows


def corpus_params(**overrides):
    return load_params().validate_corpus.model_copy(update=overrides)


def generated_params(**overrides):
    return load_params().validate_generated.model_copy(update=overrides)


BACKBONE = load_params().model.llm
LOCATOR = "<|AUDIO|>"
# The pool the gate flow checks against: the one params.yaml configures.
POOL = load_prompt_pool(load_params().generate.prompt_pool)


def generated_row(number: int, **overrides) -> dict:
    prompt = POOL[number % len(POOL)]
    row = {
        "id": f"clip-{number:04d}", "dataset": "espeak-ng", "kind": "speech", "split": "train",
        "messages": [
            {"role": "system", "content": "Focus on the audio clips and instructions."},
            {"role": "user", "content": f"{LOCATOR}\n{prompt.text}",
             "audios": [{"audio": "audio/speech.wav", "text": SPEECH_TEXT}]},
        ],
        "response": "A woman calmly says the quick brown fox in a clear voice.",
        "seed_description": f"[00:00-00:01] {SPEECH_TEXT} (Gender: Female)",
        "prompt": prompt.text, "prompt_id": prompt.id,
        "generator": {"model": BACKBONE, "revision": "test", "backend": "vllm", "endpoint": "http://127.0.0.1:1",
                      "sampling": {"temperature": 0.05, "top_p": 1.0, "max_tokens": 256, "seed": 1},
                      "foreign_override": False},
        "finish_reason": "stop", "response_tokens": 14, "flags": [],
    }
    row.update(overrides)
    return row


def jsonl(rows: list[dict]) -> list[str]:
    return [json.dumps(row) for row in rows]
