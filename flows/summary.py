"""Print what the pipeline produced: one block per stage, from the metrics files DVC tracks.

`make demo` ends with this, so a fresh clone shows at a glance what each stage did.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


def stage_metrics(dvc_file: Path = REPO_ROOT / "dvc.yaml") -> dict[str, dict]:
    """stage name -> its metrics (an empty dict for a stage that has not run yet)."""
    stages = yaml.safe_load(dvc_file.read_text())["stages"]
    results = {}
    for name, stage in stages.items():
        metrics = {}
        for entry in stage.get("metrics", []):
            path = REPO_ROOT / (next(iter(entry)) if isinstance(entry, dict) else entry)
            if path.is_file():
                metrics.update(json.loads(path.read_text()))
        results[name] = metrics
    return results


def flatten(metrics: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flatten(value, f"{name}."))
        else:
            rows.append((name, value))
    return rows


def render(results: dict[str, dict]) -> str:
    lines = []
    for stage, metrics in results.items():
        lines.append(f"== {stage}" + ("" if metrics else "  (not run yet)"))
        for key, value in flatten(metrics):
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(f"   {key:<48} {shown}")
    return "\n".join(lines)


def main() -> int:
    results = stage_metrics()
    print(render(results))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
