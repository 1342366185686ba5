"""A small real DVC project in a temp git repository: two stages, outputs DVC caches and pushes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tasks.pipeline import dvc_command

# Stage commands: `files` outputs of `size` bytes each (deterministic content), then a count of them.
MAKE = ("import os,sys; os.makedirs('data/blobs', exist_ok=True); n,size=int(sys.argv[1]),int(sys.argv[2]); "
        "[open(f'data/blobs/{i:03d}.bin','wb').write(bytes([i % 251]) * size) for i in range(n)]")
COUNT = "import os; open('data/count.txt','w').write(str(len(os.listdir('data/blobs'))))"


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, text=True).stdout


def dvc(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(dvc_command(*args), cwd=project, capture_output=True, text=True)


def make_project(root: Path, files: int = 3, size: int = 1024) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    git(root, "config", "user.email", "test@destaflow"), git(root, "config", "user.name", "test")
    assert dvc(root, "init", "-q").returncode == 0
    python = sys.executable
    stages = {
        "make": {"cmd": f'{python} -c "{MAKE}" {files} {size}', "outs": ["data/blobs"]},
        "count": {"cmd": f'{python} -c "{COUNT}"', "deps": ["data/blobs"], "outs": ["data/count.txt"]},
    }
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "project")
    return root
