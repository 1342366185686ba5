"""MLflow records of a training run: where the server is, every setting, the tags that link the run to its
code, data and base models. Curves (loss, learning rate, grad norm) come from the Trainer's MLflow callback,
which logs into the run started here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from model.base_models import base_model_revision
from tasks.params import REPO_ROOT, Params


DVC_EXPERIMENT_TAGS = {"DVC_EXP_NAME": "dvc.experiment", "DVC_EXP_BASELINE_REV": "dvc.experiment_baseline"}


def tracking_uri(params: Params) -> str:
    """train.tracking_uri, else MLFLOW_TRACKING_URI (the stack's server), else a local SQLite store in .work."""
    uri = params.train.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    store = REPO_ROOT / ".work" / "mlflow"
    store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def use_experiment(uri: str, name: str) -> None:
    """Point MLflow at `uri` and experiment `name`. A local SQLite store has no artifact root of its own
    (MLflow would write `./mlruns` in whatever folder the process runs in): its artifacts go beside the
    database, in `<database folder>/artifacts`."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    if uri.startswith("sqlite:///") and mlflow.get_experiment_by_name(name) is None:
        artifacts = Path(uri.removeprefix("sqlite:///")).parent / "artifacts"
        mlflow.create_experiment(name, artifact_location=artifacts.resolve().as_uri())
    mlflow.set_experiment(name)


def flat_settings(params: Params, sections: tuple[str, ...] = ("model", "train")) -> dict[str, str]:
    """Every setting the run depends on as `section.key` -> value (MLflow params are strings)."""
    flat = {"preset": params.preset}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}", inner)
        else:
            flat[prefix] = str(value)

    for section in sections:
        walk(section, getattr(params, section).model_dump())
    return flat


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def dvc_lock_hashes(paths: list[str], lock_file: Path = REPO_ROOT / "dvc.lock") -> dict[str, str]:
    """path -> its md5 as dvc.lock records it (an output of the stage that made it); 'unlocked' when absent."""
    recorded = {}
    if lock_file.is_file():
        stages = (yaml.safe_load(lock_file.read_text()) or {}).get("stages", {})
        for stage in stages.values():
            for entry in [*stage.get("outs", []), *stage.get("deps", [])]:
                recorded.setdefault(entry["path"], entry.get("md5", "unknown"))
    return {path: recorded.get(path, "unlocked") for path in paths}


def run_tags(params: Params, input_paths: list[str]) -> dict[str, str]:
    model = params.model
    tags = {
        "git_commit": git_commit(),
        "preset": params.preset,
        "base_model.llm": model.llm,
        "base_model.llm_revision": base_model_revision(model.llm, model.llm_revision),
        "base_model.encoder": model.encoder,
        "base_model.encoder_revision": base_model_revision(model.encoder, model.encoder_revision),
    }
    tags.update({f"dvc.{path}": md5 for path, md5 in dvc_lock_hashes(input_paths).items()})
    # Under `dvc exp run` DVC names the experiment and its baseline commit: the run says which it was.
    tags.update({tag: os.environ[variable] for variable, tag in DVC_EXPERIMENT_TAGS.items() if os.environ.get(variable)})
    return tags


def start_run(params: Params, input_paths: list[str], resume_run_id: str | None):
    """Start (or, after a restart, reopen) the run; the Trainer's MLflow callback then logs into it."""
    import mlflow

    use_experiment(tracking_uri(params), params.train.experiment)
    run = mlflow.start_run(run_id=resume_run_id, run_name=None if resume_run_id else f"train-{params.preset}")
    if resume_run_id is None:
        mlflow.log_params(flat_settings(params))
    mlflow.set_tags(run_tags(params, input_paths))
    return run


def log_results(params: Params, run_id: str, metrics: dict[str, float]) -> None:
    """Log end-of-stage numbers (valid losses by condition and kind, throughput) into a finished run."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri(params))
    for key, value in metrics.items():
        if value is not None:
            client.log_metric(run_id, key, float(value))
