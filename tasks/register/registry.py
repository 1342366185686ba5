"""Register a trained model in MLflow, set `challenger`, move `champion` through the gate, roll it back.

The model is logged as a pyfunc (tasks/register/pyfunc.py, a "model from code") into the training run, so
the version links to the run that made it. Its artifact is the `save_pretrained` folder: trainable weights,
config (naming the base models and their revisions) and processor files. The frozen base models are
references, resolved where the model loads; they are never uploaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from importlib.metadata import version as installed_version
from pathlib import Path

from tasks.rows import read_rows
from tasks.params import Params
from tasks.provenance import REPO_ROOT, dvc_lock_tags, generator_tags, git_tags
from tasks.register.gate import TAG_DECISION, Evaluation, RegisterError, decide, read_evaluation

log = logging.getLogger("destaflow.register")

CHALLENGER, CHAMPION = "challenger", "champion"
PYFUNC_FILE = Path(__file__).with_name("pyfunc.py")
MODEL_PACKAGE = REPO_ROOT / "model"
TAG_WEIGHTS = "weights.sha256"
TAG_PREVIOUS_CHAMPION = "champion.previous_version"
# What the served model imports; pinned to this environment's versions (pip_requirements also skips
# MLflow's slow requirement inference).
SERVING_PACKAGES = ("mlflow", "torch", "transformers", "safetensors", "numpy", "pandas", "scipy", "soundfile")


@dataclass(frozen=True)
class Registration:
    model_name: str
    version: str
    promoted: bool
    reasons: list[str]
    champion_version: str | None
    challenger_version: str
    reused: bool
    run_id: str
    primary: dict

    def metrics(self) -> dict:
        return asdict(self)


def client():
    from mlflow import MlflowClient

    return MlflowClient()


def weights_digest(model_dir: Path) -> str:
    """sha256 over the model folder's files (names and bytes): the same weights + config give the same digest."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(model_dir)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def read_run_id(path: Path, what: str) -> str | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())["mlflow_run_id"]
    except (ValueError, KeyError, TypeError):
        raise RegisterError(f"{path}: expected JSON with mlflow_run_id ({what})") from None


def base_model_tags(model_dir: Path) -> dict[str, str]:
    config = json.loads((model_dir / "config.json").read_text())
    return {f"base.{key}": str(config.get(key)) for key in ("llm", "llm_revision", "encoder", "encoder_revision")}


def signature():
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema

    return ModelSignature(
        inputs=Schema([
            ColSpec(DataType.string, "question"),
            ColSpec(DataType.string, "audio", required=False),
            ColSpec(DataType.string, "audio_base64", required=False),
            ColSpec(DataType.string, "transcript", required=False),
        ]),
        outputs=Schema([ColSpec(DataType.string, "answer"), ColSpec(DataType.string, "transcript")]),
        params=ParamSchema([ParamSpec("max_new_tokens", DataType.long, 128)]),
    )  # fmt: skip


def input_example(rows: list[dict], audio_root: str) -> tuple:
    """A real request: the first row's clip (a path under the data root) and question, with a short answer."""
    import pandas as pd

    for row in rows:
        clip = row["messages"][-1]["audios"][0]
        if (Path(audio_root) / clip["audio"]).is_file():
            # With its transcript the example skips Whisper ASR: MLflow answers it once while logging.
            example = {"audio": clip["audio"], "question": row.get("prompt") or "What can you hear?",
                       "transcript": clip.get("text") or " "}
            return pd.DataFrame([example]), {"max_new_tokens": 8}
    raise RegisterError(f"none of the training rows' clips is under {audio_root}; the input example needs one "
                        "(set register.audio_root to the corpus folder)")


def find_version(name: str, weights: str, evaluation: Evaluation):
    """A version already registered from these exact weights and evaluation (a rerun registers nothing new)."""
    from mlflow.exceptions import MlflowException

    try:
        versions = client().search_model_versions(f"name = '{name}' and tag.`{TAG_WEIGHTS}` = '{weights}'")
    except MlflowException:
        return None
    for version in versions:
        if version.tags.get("primary.value") == repr(evaluation.value) and TAG_DECISION in version.tags:
            return version
    return None


def current_champion(name: str):
    from mlflow.exceptions import MlflowException

    try:
        return client().get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def log_version(params: Params, model_dir: Path, run_id: str, rows: list[dict]) -> str:
    """Log the pyfunc into the training run and register it; the new version number."""
    import mlflow

    settings = params.registry
    audio_root = str((REPO_ROOT / settings.audio_root).resolve())
    with mlflow.start_run(run_id=run_id):
        info = mlflow.pyfunc.log_model(
            name="destaflow-pyfunc",
            python_model=str(PYFUNC_FILE),
            code_paths=[str(MODEL_PACKAGE)],
            artifacts={"model": str(model_dir)},
            model_config={"system_prompt": params.generate.system_prompt, "audio_root": audio_root,
                          "max_new_tokens": settings.max_new_tokens},
            signature=signature(),
            input_example=input_example(rows, audio_root),
            pip_requirements=[f"{package}=={installed_version(package)}" for package in SERVING_PACKAGES],
            registered_model_name=params.registered_model_name,
        )
        if (REPO_ROOT / "dvc.lock").is_file():
            mlflow.log_artifact(str(REPO_ROOT / "dvc.lock"), artifact_path="provenance")
    return str(info.registered_model_version)


def register(params: Params) -> Registration:
    """The register stage: log + register a version, tag its provenance, set challenger, run the gate."""
    settings, name = params.registry, params.registered_model_name
    model_dir = REPO_ROOT / settings.model
    if not (model_dir / "config.json").is_file():
        raise RegisterError(f"{model_dir}: no trained model (config.json missing); run the train stage first")
    run_id = read_run_id(REPO_ROOT / settings.train_run, "written by the train stage")
    if run_id is None:
        raise RegisterError(f"{REPO_ROOT / settings.train_run}: missing; the train stage writes it with its MLflow run")
    evaluation = read_evaluation(REPO_ROOT / settings.evaluation, settings.baselines)
    weights = weights_digest(model_dir)
    existing = find_version(name, weights, evaluation)
    if existing is not None:
        log.info("%s v%s already holds these weights and this evaluation; nothing registered", name, existing.version)
        return summarize(name, existing, evaluation, reused=True)
    check_run(run_id, REPO_ROOT / settings.train_run)
    rows = read_rows(str(REPO_ROOT / settings.rows))
    version = log_version(params, model_dir, run_id, rows)
    mlflow_client = client()
    evaluate_run = read_run_id(REPO_ROOT / settings.evaluate_run, "written by the evaluate stage")
    tags = {
        **git_tags(), **dvc_lock_tags(), **base_model_tags(model_dir), **generator_tags(rows), **evaluation.tags(),
        TAG_WEIGHTS: weights, "train.run_id": run_id, "evaluate.run_id": evaluate_run or "none",
    }  # fmt: skip
    for key, value in tags.items():
        mlflow_client.set_model_version_tag(name, version, key, value[:5000])
    mlflow_client.set_registered_model_alias(name, CHALLENGER, version)
    champion = current_champion(name)
    champion_eval = Evaluation.from_tags(champion.tags, f"{name} v{champion.version}") if champion else None
    decision = decide(evaluation, champion_eval, settings.margin, settings.greater_is_better,
                      champion_version=champion.version if champion else None)
    for key, value in decision.tags().items():
        mlflow_client.set_model_version_tag(name, version, key, value[:5000])
    if decision.promote:
        if champion is not None:
            mlflow_client.set_model_version_tag(name, version, TAG_PREVIOUS_CHAMPION, champion.version)
        mlflow_client.set_registered_model_alias(name, CHAMPION, version)
    return summarize(name, mlflow_client.get_model_version(name, version), evaluation, reused=False)


def check_run(run_id: str, run_file: Path) -> None:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        client().get_run(run_id)
    except MlflowException:
        raise RegisterError(
            f"{run_file}: MLflow run {run_id} is not on the tracking server {mlflow.get_tracking_uri()}; train against "
            "this server (`dvc repro -f train` with the stack's MLFLOW_TRACKING_URI)") from None


def summarize(name: str, version, evaluation: Evaluation, reused: bool) -> Registration:
    champion = current_champion(name)
    return Registration(
        model_name=name, version=str(version.version), promoted=version.tags.get(TAG_DECISION) == "promoted",
        reasons=version.tags.get("gate.reasons", "").split("; "),
        champion_version=champion.version if champion else None, challenger_version=str(version.version),
        reused=reused, run_id=version.run_id,
        primary={"suite": evaluation.suite, "version": evaluation.suite_version, "metric": evaluation.metric,
                 "condition": evaluation.condition, "value": evaluation.value},
    )


def rollback(name: str) -> tuple[str, str]:
    """Move `champion` back to the version it replaced; (from, to). The rolled-back version is tagged."""
    champion = current_champion(name)
    if champion is None:
        raise RegisterError(f"{name} has no champion to roll back")
    previous = champion.tags.get(TAG_PREVIOUS_CHAMPION)
    if previous is None:
        raise RegisterError(f"{name} v{champion.version} was the first champion; there is no earlier one to restore")
    mlflow_client = client()
    mlflow_client.set_registered_model_alias(name, CHAMPION, previous)
    mlflow_client.set_model_version_tag(name, champion.version, "champion.rolled_back_to", previous)
    return champion.version, previous
