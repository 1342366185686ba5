"""A fresh clone (no .work/, no PREFECT_HOME, no Prefect server) runs a stage straight away."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tasks.params import REPO_ROOT
from tests.tasks.validate.gate_helpers import generated_row, jsonl


def fresh_clone(target: Path) -> Path:
    """The working tree's files as git sees them (committed or not), without anything ignored (.work/)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO_ROOT,
                            check=True, capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
def test_a_stage_runs_in_a_clone_without_work_dir(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    assert not (clone / ".work").exists()
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.jsonl").write_text("\n".join(jsonl([generated_row(n) for n in range(3)])) + "\n")
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["validate_generated"].update(rows=str(data / "rows.jsonl"), clean=str(data / "clean.jsonl"),
                                        quarantine=str(data / "quarantine.jsonl"), report=str(data / "validation"))
    (data / "params.yaml").write_text(yaml.safe_dump(params))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}

    stage = subprocess.run([sys.executable, "-m", "flows.validate_generated", "--params", str(data / "params.yaml"),
                            "--metrics", str(data / "metrics.json")], cwd=clone, env=env, capture_output=True,
                           text=True, timeout=300)

    assert stage.returncode == 0, stage.stdout[-3000:] + stage.stderr[-3000:]
    assert json.loads((data / "metrics.json").read_text())["clean"] == 3
    assert (clone / ".work" / "prefect").is_dir()
