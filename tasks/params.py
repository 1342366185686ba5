"""params.yaml -> typed, validated config objects (one class per section).

The preset file `presets/<preset>.yaml` is read first and `params.yaml` is merged over it, so the
user's file always wins. Unknown keys, wrong types and contradictory settings raise `ParamsError`
naming the dotted key and the reason, before any model or server starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
PRESETS_DIR = REPO_ROOT / "presets"


class ParamsError(ValueError):
    """A params file that cannot be used; the message names the file, the key and the fix."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------- model
class LoraParams(Section):
    enabled: bool = False
    r: int = Field(8, gt=0)
    alpha: int = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = ["q_proj", "v_proj"]


class ModelParams(Section):
    llm: str
    llm_revision: str | None = None
    encoder: str
    encoder_revision: str | None = None
    qformer_layers: int = Field(gt=0)
    num_queries: int = Field(gt=0)
    # None: 4 encoder layers evenly spaced, ending with the last (the reference's 7/15/23/31 of 32).
    tapped_layers: list[int] | None = None
    audio_locator: str = "<|AUDIO|>"
    placeholder_token: str = "<|AUDIO_PLACEHOLDER|>"
    max_transcript_tokens: int = Field(128, gt=0)
    # Audio longer than one 30 s Whisper window is split; this bounds the number of windows.
    max_audio_windows: int = Field(4, gt=0)
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"
    lora: LoraParams = LoraParams()

    @field_validator("tapped_layers")
    @classmethod
    def _distinct_sorted(cls, layers: list[int] | None) -> list[int] | None:
        if layers is not None and (not layers or layers != sorted(set(layers)) or layers[0] < 0):
            raise ValueError("must be a non-empty, strictly increasing list of 0-based encoder layer indices")
        return layers


# --------------------------------------------------------------------------------------------- corpus
class SyntheticSpeechParams(Section):
    clips: int = Field(ge=0)


class RealSpeechParams(Section):
    asterisk_clips: int = Field(ge=0)
    alsa_clips: bool = True
    pyannote_call: bool = True


class SoundParams(Section):
    recorded_clips: int = Field(ge=0)
    synthetic_clips: int = Field(ge=0)


class MusicParams(Section):
    synthetic_clips: int = Field(ge=0)
    recorded_clips: int = Field(ge=0)
    # Length of each segment cut from the recorded instrumental tracks.
    recorded_segment_s: float = Field(10.0, gt=0.0)


class AugmentationParams(Section):
    noisy_fraction: float = Field(ge=0.0, le=1.0)
    snr_db: list[float] = Field(min_length=1)


class ExternalCorpusParams(Section):
    """A user's corpus: audio under `audio_root` (dir or s3:// prefix) + a CSV/JSONL metadata file."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    audio_root: str
    metadata: str
    path_column: str = "path"
    transcript_column: str | None = "transcript"
    kind: Literal["speech", "sound", "music"] | None = None
    kind_column: str | None = None
    split_column: str | None = None
    # Rows with the same value here (e.g. a speaker id) stay in one split when splits are assigned.
    speaker_column: str | None = None
    license: str = "unknown"
    # Unreadable/missing audio or bad metadata values: `fail` stops the stage listing every bad row;
    # `report` leaves those rows out and lists them in <corpus out>/ingest_errors.jsonl and the metrics.
    on_error: Literal["fail", "report"] = "fail"

    @model_validator(mode="after")
    def _kind_given_once(self) -> "ExternalCorpusParams":
        if (self.kind is None) == (self.kind_column is None):
            raise ValueError("set exactly one of `kind` (one kind for all rows) or `kind_column`")
        return self


class SplitParams(Section):
    train: float = Field(gt=0.0)
    valid: float = Field(ge=0.0)
    test: float = Field(ge=0.0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitParams":
        if abs(self.train + self.valid + self.test - 1.0) > 1e-6:
            raise ValueError(f"train + valid + test must be 1.0, got {self.train + self.valid + self.test:g}")
        return self


class CorpusParams(Section):
    out: str
    seed: int
    sample_rate: int = Field(16000, gt=0)
    max_duration_s: float = Field(gt=0.0)
    splits: SplitParams
    synthetic_speech: SyntheticSpeechParams
    real_speech: RealSpeechParams
    sound: SoundParams
    music: MusicParams
    augmentation: AugmentationParams
    external: list[ExternalCorpusParams] = []


# ----------------------------------------------------------------------------------------- validation
class ValidateCorpusParams(Section):
    manifest: str
    clean: str
    quarantine: str
    report: str
    min_duration_s: float = Field(gt=0.0)
    max_duration_s: float = Field(gt=0.0)
    sample_rate: int = Field(gt=0)
    duration_tolerance_s: float = Field(ge=0.0)
    silence_rms_dbfs: float = Field(lt=0.0)
    max_clipped_fraction: float = Field(ge=0.0, le=1.0)
    max_failed_fraction: float = Field(ge=0.0, le=1.0)
    probe_workers: int = Field(8, gt=0)
    split_bounds: dict[Literal["train", "valid", "test"], tuple[float, float]]

    @model_validator(mode="after")
    def _bounds_ordered(self) -> "ValidateCorpusParams":
        if self.min_duration_s >= self.max_duration_s:
            raise ValueError("min_duration_s must be below max_duration_s")
        for split, (low, high) in self.split_bounds.items():
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(f"split_bounds.{split} must be [low, high] with 0 <= low <= high <= 1")
        return self


class ValidateGeneratedParams(Section):
    rows: str
    clean: str
    quarantine: str
    report: str
    min_response_chars: int = Field(ge=1)
    max_response_chars: int = Field(gt=0)
    max_failed_fraction: float = Field(ge=0.0, le=1.0)
    leak_markers: list[str] = []
    refusal_phrases: list[str] = []

    @field_validator("leak_markers", "refusal_phrases")
    @classmethod
    def _no_blank_phrases(cls, phrases: list[str]) -> list[str]:
        if any(not phrase.strip() for phrase in phrases):
            raise ValueError("must not contain empty strings (an empty phrase matches every response)")
        return phrases

    @model_validator(mode="after")
    def _bounds_ordered(self) -> "ValidateGeneratedParams":
        if self.min_response_chars >= self.max_response_chars:
            raise ValueError("min_response_chars must be below max_response_chars")
        return self


# ----------------------------------------------------------------------------------------- generation
class GenerateParams(Section):
    manifest: str
    out: str
    work_dir: str
    seed: int
    backend: Literal["vllm", "transformers"] = "vllm"
    endpoints: list[str] = []
    # The system turn stored in the training rows (what the LALM sees next to the audio).
    system_prompt: str
    # The system turn the backbone reads while writing targets from the seed description.
    generation_system_prompt: str
    max_new_tokens: int = Field(gt=0)
    temperature: float = Field(ge=0.0)
    top_p: float = Field(gt=0.0, le=1.0)
    repetition_penalty: float = Field(1.0, gt=0.0)
    # A flagged answer (empty, truncated, template echo) is asked again with a fresh seed, up to this many tries.
    max_attempts: int = Field(1, ge=1)
    concurrency: int = Field(gt=0)
    request_timeout_s: float = Field(gt=0.0)
    max_retries: int = Field(ge=0)
    backoff_s: float = Field(ge=0.0)
    shard_rows: int = Field(gt=0)
    allow_foreign_generator: bool = False
    # None: the preset's LLM (self-generation). Anything else needs allow_foreign_generator: true.
    generator: str | None = None
    prompt_pool: str = "tasks/generate/prompt_pool_v1.jsonl"
    # transformers backend: rows per generate() call.
    batch_size: int = Field(8, gt=0)
    # Self-consistency NLL on a deterministic sample of this many rows (0 = all rows).
    nll_sample_rows: int = Field(64, ge=0)
    # Local vLLM server (started when `endpoints` is empty): its Python, port (0 = a free one), args, env.
    vllm_python: str = ".venv-vllm/bin/python"
    vllm_port: int = Field(0, ge=0, le=65535)
    vllm_startup_timeout_s: float = Field(300.0, gt=0.0)
    vllm_args: list[str] = ["--dtype", "float32", "--max-model-len", "2048", "--enforce-eager"]
    vllm_env: dict[str, str] = {"VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"}

    @model_validator(mode="after")
    def _retries_need_sampling(self) -> "GenerateParams":
        if self.max_attempts > 1 and self.temperature == 0:
            raise ValueError("max_attempts > 1 needs temperature > 0: a greedy retry repeats the same answer")
        return self

    @field_validator("endpoints")
    @classmethod
    def _http_urls(cls, endpoints: list[str]) -> list[str]:
        for url in endpoints:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"endpoint {url!r} must be an http(s):// base URL of a vLLM OpenAI server")
        return endpoints


# ----------------------------------------------------------------------------------------- evaluation
class SuiteParams(Section):
    """Where one registered suite's official files are (local or s3://), and per-suite overrides."""

    data: str | None = None
    audio_root: str | None = None
    max_new_tokens: int | None = Field(None, gt=0)


class JudgeParams(Section):
    # An OpenAI-compatible base URL (a vLLM server, a hosted model); null: the local backbone LLM judges.
    endpoint: str | None = None
    model: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, endpoint: str | None) -> str | None:
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"{endpoint!r} must be an http(s):// base URL of an OpenAI-compatible server")
        return endpoint


class ForgettingParams(Section):
    max_new_tokens: int = Field(128, gt=0)
    # With LoRA on: the largest IF-rate drop (points) of the LALM without audio against its backbone that passes.
    max_if_rate_drop: float = Field(10.0, ge=0.0)


class EvaluateParams(Section):
    model: str
    train_run: str
    out: str
    plots: str
    # Registered suites (tasks/evaluate/suites/) to run, each with its data location.
    suites: dict[str, SuiteParams]
    primary: str
    conditions: list[Literal["untrained", "text_only", "mismatched", "trained"]] = Field(min_length=1)
    batch_size: int = Field(8, gt=0)
    # Clips over 30 s: `reference` = first 30 s only (one window, as the reference); `windows` = ours.
    long_audio: Literal["reference", "windows"] = "reference"
    vad: bool = True
    seed: int
    # At most this many items per suite (null: all).
    max_items: int | None = Field(None, gt=0)
    judge: JudgeParams = JudgeParams()
    forgetting: ForgettingParams = ForgettingParams()

    @model_validator(mode="after")
    def _suites_known(self) -> "EvaluateParams":
        from tasks.evaluate.registry import available_suites, load_suite

        for name, suite in self.suites.items():
            if name not in available_suites():
                raise ValueError(f"suites.{name}: not a registered suite; registered: {available_suites()}")
            if suite.data is None and load_suite(name).data is None:
                raise ValueError(f"suites.{name}.data: the suite ships no data; give the path of its official files")
        if self.primary not in self.suites:
            raise ValueError(f"primary {self.primary!r} must be one of the suites run: {sorted(self.suites)}")
        if "trained" not in self.conditions:
            raise ValueError("conditions: must include trained (every suite runs the trained model; the others "
                             "are compared with it)")
        return self


# ------------------------------------------------------------------------------------------ top level
class Params(Section):
    preset: str
    model: ModelParams
    corpus: CorpusParams
    validate_corpus: ValidateCorpusParams
    generate: GenerateParams
    validate_generated: ValidateGeneratedParams
    evaluate: EvaluateParams

    @model_validator(mode="after")
    def _self_generation(self) -> "Params":
        foreign = self.generate.generator not in (None, self.model.llm)
        if foreign and not self.generate.allow_foreign_generator:
            raise ValueError(
                f"generate.generator={self.generate.generator!r} is not the backbone model.llm="
                f"{self.model.llm!r}; DeSTA self-generation needs the same LLM. Remove generate.generator, "
                "or set generate.allow_foreign_generator: true to override (the override is recorded)"
            )
        return self

    @property
    def generator_llm(self) -> str:
        """The model that writes the targets: the backbone unless explicitly overridden."""
        return self.generate.generator or self.model.llm


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: the top level must be a mapping of sections")
    return data


def _format_errors(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: {error.error_count()} invalid setting(s):"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {key}: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)


def load_params(path: str | Path = REPO_ROOT / "params.yaml") -> Params:
    """Read params.yaml over its preset and validate everything; raise ParamsError on any problem."""
    path = Path(path)
    user = _read_yaml(path)
    preset = user.get("preset")
    if not isinstance(preset, str):
        raise ParamsError(f"{path}: preset: required, one of {available_presets()}")
    preset_file = PRESETS_DIR / f"{preset}.yaml"
    if not preset_file.is_file():
        raise ParamsError(f"{path}: preset: unknown preset {preset!r}; choose one of {available_presets()}")
    merged = deep_merge(_read_yaml(preset_file), user)
    try:
        return Params.model_validate(merged)
    except ValidationError as error:
        raise ParamsError(_format_errors(path, error)) from None


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
