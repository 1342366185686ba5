"""Train-stage fixtures: tiny random base models, a few clips of each kind, rows, and a params file over them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml

from tasks.params import REPO_ROOT, load_params
from tests.model.conftest import save_tiny_llm, save_tiny_whisper

KIND_PITCH = {"speech": 220.0, "sound": 880.0, "music": 440.0}
ANSWERS = {"speech": "a calm voice", "sound": "a dog barks", "music": "a soft tone"}


@pytest.fixture(scope="session")
def base_dirs(tmp_path_factory) -> tuple[str, str]:
    """(llm dir, whisper dir): tiny random models. The LLM's weights are drawn wide (initializer_range 0.5): with
    the usual 0.02 its next-token distribution is nearly uniform whatever the prompt, so no connector could
    move the loss and a test of learning could not fail for the right reason."""
    torch.manual_seed(0)
    return (save_tiny_llm(tmp_path_factory.mktemp("wide-llm"), initializer_range=0.5),
            save_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper")))


def write_clip(path: Path, kind: str, index: int) -> None:
    t = np.arange(int(16000 * (0.5 + 0.25 * (index % 3)))) / 16000
    wave = 0.3 * np.sin(2 * np.pi * KIND_PITCH[kind] * (1 + 0.1 * index) * t)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, wave.astype(np.float32), 16000)


def make_rows(audio_root: Path, clips_per_kind: int = 4, valid_per_kind: int = 2) -> list[dict]:
    rows = []
    for kind in KIND_PITCH:
        for index in range(clips_per_kind):
            relative = f"audio/{kind}-{index}.wav"
            write_clip(audio_root / relative, kind, index)
            rows.append({
                "id": f"{kind}-{index}", "kind": kind, "split": "valid" if index < valid_per_kind else "train",
                "messages": [
                    {"role": "system", "content": "Focus on the audio clips and instructions."},
                    {"role": "user", "content": "<|AUDIO|>\nDescribe the sound in detail.",
                     "audios": [{"audio": relative, "text": "hello" if kind == "speech" else " "}]},
                ],
                "response": f"{ANSWERS[kind]} {index}",
            })
    return rows


def write_project(tmp_path: Path, base_dirs, rows=None, model=None, **train_overrides) -> Path:
    """A params.yaml (smol preset, tiny base models) whose every path lies under tmp_path; returns its path."""
    llm_dir, whisper_dir = base_dirs
    tmp_path.mkdir(parents=True, exist_ok=True)
    audio_root = tmp_path / "corpus"
    rows = make_rows(audio_root) if rows is None else rows
    rows_file = tmp_path / "clean.jsonl"
    rows_file.write_text("".join(json.dumps(row) + "\n" for row in rows))
    user = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    user["model"] = {"llm": llm_dir, "encoder": whisper_dir, "qformer_layers": 1, "num_queries": 4,
                     "max_transcript_tokens": 8, "max_audio_windows": 2, "mask_padding_frames": True, **(model or {})}
    user["train"] = {
        **user["train"],
        "rows": str(rows_file), "audio_root": str(audio_root), "out": str(tmp_path / "model"),
        "bad_rows": str(tmp_path / "bad_rows.jsonl"), "run_info": str(tmp_path / "run.json"),
        "plots": str(tmp_path / "plots"), "checkpoint_dir": str(tmp_path / "checkpoints"),
        "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "lr": 1e-2, "warmup_steps": 0, "batch_size": 2, "max_steps": 6, "logging_steps": 2, "save_steps": 4,
        "max_train_tokens": 200, "max_valid_tokens": 200, "eval_batch_size": 4,
        **train_overrides,
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(user))
    load_params(path)  # fail here, not inside the test, on a bad fixture
    return path


@pytest.fixture
def project(tmp_path, base_dirs):
    return write_project(tmp_path, base_dirs)
