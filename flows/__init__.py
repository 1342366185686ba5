"""Thin Prefect flows, one per DVC stage (`python -m flows.<stage>`): read params, call tasks, publish.

Importing this package points Prefect at the repo's ignored .work/ and turns its telemetry off, unless the
user chose otherwise; without PREFECT_API_URL, Prefect runs each flow against a temporary local API.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("PREFECT_HOME", str(REPO_ROOT / ".work" / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def publish_stage(metrics: dict, metrics_path: str, summary: str, artifact_key: str, description: str) -> None:
    """Write the stage's DVC metrics file, its Prefect markdown artifact, and print the summary."""
    # Imported here: Prefect is slow to import and the package is imported by flows' argument parsing too.
    from prefect.artifacts import create_markdown_artifact

    path = Path(metrics_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    create_markdown_artifact(summary, key=artifact_key, description=description)
    print(summary)
