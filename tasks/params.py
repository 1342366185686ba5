"""params.yaml -> typed, validated config objects (one class per section).

The preset file `presets/<preset>.yaml` is read first and `params.yaml` is merged over it, so the
user's file always wins. Unknown keys, duplicate keys, wrong types (strict: `true` is no number, "8" no
integer) and contradictory settings, within a section or across sections, raise `ParamsError` naming
the dotted key and the reason, before any model or server starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
PRESETS_DIR = REPO_ROOT / "presets"


class ParamsError(ValueError):
    """A params file that cannot be used; the message names the file, the key and the fix."""


# YAML has no tuples: a two-item list is the pair (its items are still checked strictly).
Pair = Annotated[tuple[float, float], BeforeValidator(lambda value: tuple(value) if isinstance(value, list) else value)]


class Section(BaseModel):
    # strict: YAML already gives typed values, so a coercion (true -> 1, "8" -> 8) only hides a mistake.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Contradiction(ValueError):
    """Two settings that cannot both hold; `key` is the dotted key reported (the one to change)."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


# ---------------------------------------------------------------------------------------------- model
class LoraParams(Section):
    enabled: bool = False
    r: int = Field(8, gt=0)
    alpha: int = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = ["q_proj", "v_proj"]


class ModelParams(Section):
    """The audio LM. The base models and the connector's shape (llm, encoder, qformer_layers, num_queries,
    tapped_layers, dtype) have no default here: every preset names them. The defaults below are the
    project's; model/'s DeSTA25Config repeats them in its signature (a test checks they agree)."""

    llm: str
    llm_revision: str | None = None
    encoder: str
    encoder_revision: str | None = None
    qformer_layers: int = Field(gt=0)
    num_queries: int = Field(gt=0)
    # None: 4 encoder layers evenly spaced, ending with the last (the reference's 7/15/23/31 of 32).
    tapped_layers: list[int] | None
    audio_locator: str = "<|AUDIO|>"
    placeholder_token: str = "<|AUDIO_PLACEHOLDER|>"
    max_transcript_tokens: int = Field(128, gt=0)
    # Audio longer than one 30 s Whisper window is split; this bounds the number of windows.
    max_audio_windows: int = Field(4, gt=0)
    dtype: Literal["float32", "bfloat16", "float16"]
    # The reference keeps Whisper in float32 (outside bf16 autocast) whatever the LLM's dtype.
    encoder_dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"
    lora: LoraParams = LoraParams()
    # Text around each audio block in the prompt; the reference's released model uses <start_audio>/<end_audio>.
    audio_start_marker: str = ""
    audio_end_marker: str = ""
    # False (the reference): the Q-Former also reads the encoder states of the silence padding each clip up to
    # 30 s; True: those states are masked out (cached encoder states are then cropped to the clip).
    mask_padding_frames: bool = False
    # Dropout inside the Q-Former while training (the reference's BERT default).
    qformer_dropout: float = Field(0.1, ge=0.0, lt=1.0)

    @field_validator("tapped_layers")
    @classmethod
    def _distinct_sorted(cls, layers: list[int] | None) -> list[int] | None:
        if layers is not None and (not layers or layers != sorted(set(layers)) or layers[0] < 0):
            raise ValueError("must be a non-empty, strictly increasing list of 0-based encoder layer indices")
        return layers


# ---------------------------------------------------------------------------------------- base models
class BaseModelsParams(Section):
    # What the base_models stage prepared (names, revisions): the stages that load a base model depend on it.
    out: str


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
    split_bounds: dict[Literal["train", "valid", "test"], Pair]

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
    # Also ask again (within max_attempts) an answer to an attribute question that does not state the value
    # its description gives (tasks/generate/grounding.py); the last try is kept either way, unflagged.
    retry_ungrounded: bool = False
    concurrency: int = Field(gt=0)
    request_timeout_s: float = Field(gt=0.0)
    max_retries: int = Field(ge=0)
    backoff_s: float = Field(ge=0.0)
    shard_rows: int = Field(gt=0)
    allow_foreign_generator: bool = False
    # None: the preset's LLM (self-generation). Anything else needs allow_foreign_generator: true.
    generator: str | None = None
    prompt_pool: str
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


# ------------------------------------------------------------------------------------------- training
class TrainParams(Section):
    rows: str
    # Audio paths in the rows are relative to this folder (the corpus the gates checked).
    audio_root: str
    out: str
    bad_rows: str
    run_info: str
    plots: str
    # Checkpoints live outside DVC's outs, so a killed run resumes instead of starting over.
    checkpoint_dir: str
    seed: int
    lr: float = Field(gt=0.0)
    betas: Pair
    weight_decay: float = Field(ge=0.0)
    lr_scheduler: Literal["cosine", "linear", "constant_with_warmup"] = "cosine"
    warmup_steps: int = Field(ge=0)
    max_grad_norm: float = Field(gt=0.0)
    # Rows per process and step; the global batch is batch_size * gradient_accumulation_steps * processes.
    batch_size: int = Field(gt=0)
    gradient_accumulation_steps: int = Field(1, gt=0)
    epochs: float = Field(gt=0.0)
    # A step budget wins over epochs when set.
    max_steps: int | None = Field(None, gt=0)
    precision: Literal["fp32", "bf16"] = "fp32"
    # Prompt (audio positions and transcript included) plus target, in tokens; longer targets are cut here.
    max_train_tokens: int = Field(gt=0)
    max_valid_tokens: int = Field(gt=0)
    # Missing/unreadable audio, a prompt that fills the token cap, an empty response:
    # `skip` leaves the row out and lists it in `bad_rows`; `fail` stops before training naming it.
    on_bad_row: Literal["skip", "fail"] = "fail"
    # Compute the frozen encoder's tapped states once per clip and reuse them every epoch.
    encoder_cache: bool = True
    # Batches of rows of similar length (less padding); the order stays seeded.
    group_by_length: bool = True
    logging_steps: int = Field(gt=0)
    eval_steps: int | None = Field(None, gt=0)
    save_steps: int = Field(gt=0)
    save_total_limit: int = Field(2, gt=0)
    eval_batch_size: int = Field(gt=0)
    # Processes per node (> 1: the flow launches torchrun), nodes, and the rendezvous of a multi-node run.
    processes: int = Field(1, gt=0)
    nodes: int = Field(1, gt=0)
    rdzv_endpoint: str | None = None
    distributed: Literal["ddp", "fsdp"] = "ddp"
    # MLflow: None uses MLFLOW_TRACKING_URI (the stack's server), else a local store under .work/mlflow.
    tracking_uri: str | None = None
    experiment: str = "destaflow-train"

    @field_validator("betas", mode="before")
    @classmethod
    def _pair_as_tuple(cls, betas: Any) -> Any:
        """YAML has no tuples: [beta1, beta2] is the pair."""
        return tuple(betas) if isinstance(betas, list) else betas

    @model_validator(mode="after")
    def _consistent(self) -> "TrainParams":
        if not 0.0 <= self.betas[0] < 1.0 or not 0.0 <= self.betas[1] < 1.0:
            raise ValueError("betas must both lie in [0, 1)")
        if self.nodes > 1 and not self.rdzv_endpoint:
            raise ValueError("nodes > 1 needs rdzv_endpoint (host:port of the rendezvous every node reaches)")
        if self.save_steps % self.logging_steps:
            raise ValueError("save_steps must be a multiple of logging_steps, so each checkpoint has its curve point")
        return self


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
# ------------------------------------------------------------------------------------------- register
class RegisterParams(Section):
    # Stage inputs (INTERFACES.md): the trained model, its MLflow run, the evaluation metrics.
    model: str = "data/train/model"
    train_run: str = "data/train/run.json"
    evaluation: str = "metrics/evaluate.json"
    evaluate_run: str = "data/evaluate/run.json"
    # Provenance only: the rows the model was trained on name their generator and its sampling.
    rows: str = "data/generated/clean.jsonl"
    # `{preset}` is replaced by the preset's name: destaflow-smol, destaflow-desta25.
    model_name: str = Field("destaflow-{preset}", pattern=r"^[A-Za-z0-9_.{}-]+$")
    # The gate compares metrics/evaluate.json's `primary` (evaluate.primary names the suite, the suite file its
    # primary metric, on the trained condition). False for error rates (WER): lower wins.
    greater_is_better: bool = True
    # The challenger must beat the champion's primary metric by more than this (same suite version).
    margin: float = Field(0.01, ge=0.0)
    # What every challenger, the first one too, must beat by the margin on the same suite before it can become
    # champion: conditions of evaluate (the same items without hearing: text_only, untrained) and `chance`
    # (the suite's chance level). A model no better than not listening is never promoted.
    baselines: list[Literal["untrained", "text_only", "mismatched", "chance"]] = ["text_only", "chance"]
    # Served clips: a request's audio path must resolve (links followed) inside this folder.
    audio_root: str = "data/corpus"
    # Tokens the served model writes per answer unless a request asks otherwise.
    max_new_tokens: int = Field(128, gt=0)

    @field_validator("model_name")
    @classmethod
    def _known_fields(cls, template: str) -> str:
        try:
            template.format(preset="smol")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"only {{preset}} may be substituted ({error})") from None
        return template


# ------------------------------------------------------------------------------------------ top level
class Params(Section):
    preset: str
    model: ModelParams
    base_models: BaseModelsParams
    corpus: CorpusParams
    validate_corpus: ValidateCorpusParams
    generate: GenerateParams
    validate_generated: ValidateGeneratedParams
    train: TrainParams
    evaluate: EvaluateParams
    # Key `register` in params.yaml; the attribute is `registry` because pydantic models already have a
    # `register` (ABCMeta's).
    registry: RegisterParams = Field(RegisterParams(), alias="register")

    @model_validator(mode="after")
    def _fsdp_needs_lora(self) -> "Params":
        if self.train.distributed == "fsdp" and not self.model.lora.enabled:
            raise ValueError(
                "train.distributed=fsdp shards trainable weights, worth it only with LoRA: set model.lora.enabled: "
                "true or use train.distributed: ddp"
            )
        return self

    @model_validator(mode="after")
    def _corpus_passes_its_gate(self) -> "Params":
        """What the corpus stage writes must be what its gate accepts, or every clip would be quarantined."""
        corpus, gate = self.corpus, self.validate_corpus
        if corpus.sample_rate != gate.sample_rate:
            raise Contradiction("validate_corpus.sample_rate", (
                f"{gate.sample_rate} Hz, but the corpus stage writes corpus.sample_rate={corpus.sample_rate} Hz; "
                "set both to the same rate"))
        if not gate.min_duration_s < corpus.max_duration_s <= gate.max_duration_s:
            raise Contradiction("corpus.max_duration_s", (
                f"{corpus.max_duration_s:g} s clips may be written, but the gate accepts durations in "
                f"[validate_corpus.min_duration_s={gate.min_duration_s:g}, validate_corpus.max_duration_s="
                f"{gate.max_duration_s:g}]; keep corpus.max_duration_s inside the gate's bounds"))
        return self

    @model_validator(mode="after")
    def _gate_baselines_are_evaluated(self) -> "Params":
        missing = [name for name in self.registry.baselines if name != "chance" and name not in self.evaluate.conditions]
        if missing:
            raise Contradiction("register.baselines", (
                f"{missing} must be beaten before promotion, but evaluate.conditions={self.evaluate.conditions} does "
                "not run them; add them to evaluate.conditions or remove them from register.baselines"))
        return self

    @model_validator(mode="after")
    def _self_generation(self) -> "Params":
        foreign = self.generate.generator not in (None, self.model.llm)
        if foreign and not self.generate.allow_foreign_generator:
            raise Contradiction("generate.generator", (
                f"generate.generator={self.generate.generator!r} is not the backbone model.llm={self.model.llm!r}; DeSTA "
                "self-generation needs the same LLM. Remove generate.generator, or set "
                "generate.allow_foreign_generator: true to override (the override is recorded)"))
        return self

    @property
    def registered_model_name(self) -> str:
        """The registry name of this preset's models (register.model_name with the preset filled in)."""
        return self.registry.model_name.format(preset=self.preset)

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


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (line {line}; first given on line {first_line[key]}); "
                    "keep one of them", key_node.start_mark)
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}
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
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, Contradiction):
            lines.append(f"  {cause.key}: {cause}")
            continue
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


def preset_model(preset: str) -> ModelParams:
    """The `model` section of presets/<preset>.yaml on its own (no params.yaml over it), validated."""
    path = PRESETS_DIR / f"{preset}.yaml"
    if not path.is_file():
        raise ParamsError(f"{path}: unknown preset {preset!r}; choose one of {available_presets()}")
    try:
        return ModelParams.model_validate(_read_yaml(path).get("model") or {})
    except ValidationError as error:
        raise ParamsError(_format_errors(path, error)) from None


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
