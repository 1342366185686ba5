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


def evaluation_tables(metrics: dict) -> str:
    """The evaluate stage's condition tables (accuracy per category, trained - mismatched, chance)."""
    from tasks.evaluate.stage import condition_table, markdown_table

    return "\n\n".join(markdown_table(condition_table(metrics, suite), f"{suite} (accuracy %)")
                       for suite in metrics["suites"])


def render(results: dict[str, dict]) -> str:
    lines = []
    for stage, metrics in results.items():
        lines.append(f"== {stage}" + ("" if metrics else "  (not run yet)"))
        if stage == "evaluate" and metrics:
            # Hundreds of per-category numbers: shown as the four-condition tables instead of one per line.
            lines.append(evaluation_tables(metrics))
            metrics = {key: metrics[key] for key in ("primary", "forgetting") if key in metrics}
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
