"""Shared by the generate tests (tasks and flow): a small real-audio manifest and params files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import soundfile
import yaml

from tasks import system_files
from tasks.manifest import to_frame, write_manifest
from tasks.params import REPO_ROOT, Params, load_params

ALSA = system_files.ALSA_SOUNDS.path
SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"


def _espeak(text: str, path: Path, voice: str) -> None:
    subprocess.run([str(system_files.ESPEAK_NG.path), "-v", voice, "-w", str(path), text], check=True, capture_output=True)


def manifest_rows(corpus: Path, speech_clips: int = 3) -> list[dict]:
    """Rows for real wav files written under `corpus`: espeak-ng speech, ALSA voice/noise clips."""
    audio = corpus / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    sentences = ["The train leaves at nine.", "Please close the window.", "Birds sing in the morning.",
                 "Turn left at the corner.", "The soup is too hot.", "We meet again tomorrow."]
    rows = []
    for number in range(speech_clips):
        voice, gender = (("en-us+f3", "female") if number % 2 else ("en-us+m3", "male"))
        path = audio / f"speech-{number:02d}.wav"
        _espeak(sentences[number % len(sentences)], path, voice)
        attributes = {"gender": gender, "pitch": "high" if number % 2 else "low", "speed": "normal",
                      "volume": "normal", "accent": "American English"}
        if number == 0:
            attributes |= {"noise": "pink noise", "snr_db": 5}
        rows.append(_row(f"speech-{number:02d}", path, corpus, "espeak-ng", "speech",
                         sentences[number % len(sentences)], attributes))
    shutil.copy(ALSA / "Noise.wav", audio / "noise.wav")
    rows.append(_row("sound-00", audio / "noise.wav", corpus, "alsa", "sound", "",
                     {"category": "speaker test noise"}))
    shutil.copy(ALSA / "Front_Left.wav", audio / "front-left.wav")
    rows.append(_row("turns-00", audio / "front-left.wav", corpus, "alsa", "speech", "Front left",
                     {"segments": [{"start": 0.0, "end": 0.6, "speaker": "A", "transcript": "Front"},
                                   {"start": 0.6, "end": 1.2, "speaker": "B", "transcript": "left"}]}))
    return rows


def _row(row_id, path, corpus, source, kind, transcript, attributes) -> dict:
    info = soundfile.info(str(path))
    return {"id": row_id, "path": str(path.relative_to(corpus)), "source": source, "kind": kind,
            "duration_s": info.frames / info.samplerate, "sample_rate": info.samplerate, "transcript": transcript,
            "attributes": attributes, "split": "train", "license": "test"}


def write_small_manifest(corpus: Path, speech_clips: int = 3) -> str:
    url = str(corpus / "clean.parquet")
    write_manifest(to_frame(manifest_rows(corpus, speech_clips)), url)
    return url


def write_params(directory: Path, **generate: object) -> tuple[Params, Path]:
    """The repo's params.yaml with `generate` keys overridden, written to directory/params.yaml."""
    data = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    # One try per row unless a test is about retries: the tests count requests and shards exactly.
    data["generate"].update({"max_attempts": 1, **generate})
    path = directory / "params.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_params(path), path
