"""Where a result came from, as flat string tags for MLflow runs and model versions.

git commit (and whether the work tree had uncommitted changes), the content hashes DVC recorded in dvc.lock,
and the generator + sampling settings the training rows name.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


def git_tags(repo: Path = REPO_ROOT) -> dict[str, str]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit, changes = git("rev-parse", "HEAD"), git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError) as error:
        return {"git.commit": f"unknown ({error})"}
    return {"git.commit": commit, "git.dirty": str(bool(changes)).lower()}


def dvc_lock_tags(lock_file: Path = REPO_ROOT / "dvc.lock") -> dict[str, str]:
    """`dvc.<out path>` -> the md5 dvc.lock records for it, for every stage output (and `dvc.lock` missing)."""
    if not lock_file.is_file():
        return {"dvc.lock": "missing (the stages were not run by `dvc repro`)"}
    stages = (yaml.safe_load(lock_file.read_text()) or {}).get("stages", {})
    return {
        f"dvc.{out['path']}": out.get("md5") or out.get("hash") or "unknown"
        for stage in stages.values()
        for out in stage.get("outs", [])
    }


def generator_tags(rows) -> dict[str, str]:
    """The generator(s) and sampling settings of the rows; the per-row seed is left out (it differs per row)."""
    generators = Counter()
    for row in rows:
        generator = row.get("generator")
        if not isinstance(generator, dict):
            generators["none"] += 1
            continue
        sampling = {key: value for key, value in (generator.get("sampling") or {}).items() if key != "seed"}
        key = json.dumps({"model": generator.get("model"), "revision": generator.get("revision"),
                          "backend": generator.get("backend"), "sampling": sampling,
                          "foreign_override": generator.get("foreign_override", False)}, sort_keys=True)
        generators[key] += 1
    if not generators:
        return {"generator": "no training rows"}
    if list(generators) == ["none"]:
        return {"generator": "unknown: the rows name no generator (e.g. DeSTA-AQA5M rows)"}
    (main, count), *others = generators.most_common()
    described = {} if main == "none" else json.loads(main)
    tags = {
        "generator.model": str(described.get("model")), "generator.revision": str(described.get("revision")),
        "generator.backend": str(described.get("backend")),
        "generator.sampling": json.dumps(described.get("sampling"), sort_keys=True),
        "generator.foreign_override": str(described.get("foreign_override")).lower(),
        "generator.rows": str(count),
    }  # fmt: skip
    if others:
        tags["generator.others"] = json.dumps({key: n for key, n in others})[:5000]
    return tags
