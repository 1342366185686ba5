"""The served model: an MLflow pyfunc around DeSTA25Model (logged as "model from code").

MLflow copies this file into the model version and runs it on `mlflow.pyfunc.load_model`; `model/` travels
with it as code (code_paths), so it imports nothing from tasks/ or flows/. Its artifact `model` is the
`save_pretrained` folder (trainable weights, config, processor files); the frozen base models are NOT in the
version: the config names them with their revisions and `model.base_models.resolve_base_model` finds them
(converted packaged models under $DESTAFLOW_MODELS_DIR or ./models, or a hub id where a hub is reachable).

A request is a table, one question per row:

    question      (required)  what to ask about the clip
    audio         a path relative to the data root (links are resolved, the result must stay inside it)
    audio_base64  the file's bytes in base64 (wav/flac/ogg/mp3), instead of `audio`
    transcript    the clip's transcript; missing: Whisper (the frozen encoder's decoder) writes it

and the answer table has `answer` and `transcript`. A bad request raises MlflowException with
INVALID_PARAMETER_VALUE, which `mlflow models serve` answers with HTTP 400 and the reason.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

# Environment variables that override model_config at load time (where the data and base models live).
AUDIO_ROOT_ENV = "DESTAFLOW_AUDIO_ROOT"
MODELS_DIR_ENV = "DESTAFLOW_MODELS_DIR"
# A request's clip in base64: above this many bytes it is refused before decoding (4 windows of 30 s of
# 16-bit 48 kHz stereo wav are ~46 MB).
MAX_AUDIO_BYTES = 64 * 1024 * 1024


def bad_request(message: str) -> MlflowException:
    return MlflowException.invalid_parameter_value(message)


def confined_path(audio: str, root: Path) -> Path:
    """The clip's real path, which must lie inside the data root after every link is resolved."""
    real_root = root.resolve()
    candidate = (real_root / audio).resolve()
    if not candidate.is_relative_to(real_root):
        raise bad_request(f"audio {audio!r} resolves outside the data root {real_root}; send a path under it or "
                          "the file itself as audio_base64")
    if not candidate.is_file():
        raise bad_request(f"audio {audio!r}: no such file under the data root {real_root}")
    return candidate


def decode_audio(encoded: str, row: int):
    """base64 file bytes -> (waveform, sample rate)."""
    import soundfile

    if len(encoded) * 3 // 4 > MAX_AUDIO_BYTES:
        raise bad_request(f"row {row}: audio_base64 is over {MAX_AUDIO_BYTES // 2**20} MiB; send a shorter clip")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise bad_request(f"row {row}: audio_base64 is not valid base64 ({error})") from None
    try:
        return soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise bad_request(f"row {row}: audio_base64 is not a readable audio file ({error}); send wav/flac/ogg/mp3") from None


def present(value) -> bool:
    return isinstance(value, str) and value != ""


def request_conversations(frame: pd.DataFrame, audio_root: Path, system_prompt: str, audio_locator: str) -> list:
    """Request rows -> conversations in the model's message format; any bad row raises with its index."""
    if "question" not in frame.columns:
        raise bad_request(f"the request has no 'question' column (columns: {list(frame.columns)})")
    conversations = []
    for row, record in enumerate(frame.to_dict("records")):
        question, path, encoded = record.get("question"), record.get("audio"), record.get("audio_base64")
        if not present(question) or not question.strip():
            raise bad_request(f"row {row}: 'question' must be a non-empty string")
        if present(path) == present(encoded):
            raise bad_request(f"row {row}: give exactly one of 'audio' (a path under the data root) or 'audio_base64'")
        entry = {"audio": str(confined_path(path, audio_root))} if present(path) else {}
        if present(encoded):
            waveform, sampling_rate = decode_audio(encoded, row)
            entry = {"audio": waveform, "sampling_rate": sampling_rate}
        if isinstance(record.get("transcript"), str):
            entry["text"] = record["transcript"] or " "
        conversations.append([
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": f"{audio_locator}\n{question}", "audios": [entry]},
        ])
    return conversations


class DeSTA25PyFunc(PythonModel):
    def load_context(self, context) -> None:
        from model import DeSTA25Model

        config = context.model_config or {}
        models_dir = os.environ.get(MODELS_DIR_ENV) or config.get("models_dir")
        if models_dir:
            os.environ[MODELS_DIR_ENV] = str(Path(models_dir).resolve())
        self.audio_root = Path(os.environ.get(AUDIO_ROOT_ENV) or config.get("audio_root") or ".")
        self.system_prompt = config["system_prompt"]
        self.max_new_tokens = int(config.get("max_new_tokens", 128))
        self.model = DeSTA25Model.from_pretrained(context.artifacts["model"])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        from model import DeSTAInputError

        conversations = request_conversations(pd.DataFrame(model_input), self.audio_root, self.system_prompt,
                                              self.model.config.audio_locator)
        max_new_tokens = int((params or {}).get("max_new_tokens") or self.max_new_tokens)
        try:
            result = self.model.generate(conversations, max_new_tokens=max_new_tokens, do_sample=False)
        except DeSTAInputError as error:
            raise bad_request(str(error)) from None
        return pd.DataFrame({"answer": result.texts, "transcript": [clips[0] for clips in result.transcripts]})


set_model(DeSTA25PyFunc())
