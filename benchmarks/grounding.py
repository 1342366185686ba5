"""Grounding of a generation recipe, measured on the clips whose prompt asks for a described attribute.

Runs the real generate stage (retries included) on the subset of the corpus manifest whose sampled
prompt asks for an attribute the seed description gives, with params.yaml plus `--set` overrides,
against a running vLLM server (`--endpoint`) or a local one; prints the grounding table, the tokens
spent and examples of answers that miss, and writes JSON. Compare two recipes on the same corpus:

    .venv/bin/python benchmarks/grounding.py --label before --set generate.prompt_pool=tasks/generate/prompt_pool_v1.jsonl
    .venv/bin/python benchmarks/grounding.py --label after
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from tasks.generate.prompts import load_prompt_pool  # noqa: E402
from tasks.generate.stage import generate_rows, plan_rows, repo_path  # noqa: E402
from tasks.manifest import read_manifest, write_manifest  # noqa: E402
from tasks.params import REPO_ROOT, load_params  # noqa: E402
from tasks.generate.grounding import grounding_report, judge_row, summary_markdown  # noqa: E402

RESULTS = REPO_ROOT / "benchmarks" / "results"


def apply_overrides(data: dict, settings: list[str]) -> dict:
    """`section.key=YAML value` pairs over the params mapping."""
    for setting in settings:
        dotted, _, raw = setting.partition("=")
        *sections, key = dotted.split(".")
        target = data
        for section in sections:
            target = target.setdefault(section, {})
        target[key] = yaml.safe_load(raw)
    return data


def attribute_subset(params, limit: int | None) -> list[str]:
    """Ids of the clips whose sampled prompt asks for a value their description gives."""
    categories = {prompt.id: prompt.category for prompt in load_prompt_pool(repo_path(params.generate.prompt_pool))}
    ids = [plan.record["id"] for plan in plan_rows(params)
           if judge_row({"prompt_id": plan.prompt.id, "seed_description": plan.seed_description, "response": ""},
                        categories) is not None]
    return ids[::max(1, len(ids) // limit)][:limit] if limit else ids  # spread over sources and kinds


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="name of this recipe in the results file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="params override")
    parser.add_argument("--endpoint", help="a running vLLM server serving the backbone")
    parser.add_argument("--limit", type=int, help="at most this many clips")
    parser.add_argument("--examples", type=int, default=8, help="answers that miss, shown")
    args = parser.parse_args(argv)

    data = apply_overrides(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()), args.set)
    with tempfile.TemporaryDirectory(prefix="bench-grounding-") as tmp:
        root = Path(tmp)
        (root / "params.yaml").write_text(yaml.safe_dump(data))
        params = load_params(root / "params.yaml")
        ids = set(attribute_subset(params, args.limit))
        frame = read_manifest(params.generate.manifest)
        write_manifest(frame[frame["id"].isin(ids)].reset_index(drop=True), str(root / "manifest.parquet"))
        data["generate"].update(manifest=str(root / "manifest.parquet"), out=str(root / "rows.jsonl"),
                                work_dir=str(root / "work"), endpoints=[args.endpoint] if args.endpoint else [])
        (root / "params.yaml").write_text(yaml.safe_dump(data))
        params = load_params(root / "params.yaml")
        started = time.perf_counter()
        metrics = generate_rows(params)
        wall_s = time.perf_counter() - started
        rows = [json.loads(line) for line in (root / "rows.jsonl").read_text().splitlines()]

    pool = load_prompt_pool(repo_path(params.generate.prompt_pool))
    kept = [row for row in rows if not row["flags"]]  # what the gate's generator-flag check keeps
    report = grounding_report(kept, pool)
    categories = {prompt.id: prompt.category for prompt in pool}
    misses = [(row, judge_row(row, categories)) for row in kept]
    misses = [(row, judgement) for row, judgement in misses if judgement and judgement.outcome != "grounded"]
    result = {"label": args.label, "settings": args.set, "clips": len(ids), "rows_kept": len(kept),
              "rows_still_flagged": len(rows) - len(kept), "tokens_generated": metrics["tokens_generated"],
              "requests": metrics["requests"], "generation_s": metrics["generation_s"], "wall_s": round(wall_s, 1),
              "grounding": report,
              "misses": [{"id": row["id"], "attribute": judgement.attribute, "value": judgement.value,
                          "outcome": judgement.outcome, "prompt": row["prompt"], "response": row["response"]}
                         for row, judgement in misses[:args.examples]],
              # The judged rows, so a later version of the metric can judge the same answers again.
              "rows": [{key: row[key] for key in ("id", "prompt_id", "prompt", "seed_description", "response")}
                       for row in kept]}
    print(summary_markdown(report))
    print(f"{len(ids)} clips, {len(kept)} kept, {metrics['tokens_generated']} tokens generated in "
          f"{metrics['requests']} requests, {metrics['generation_s']:.0f} s")
    for miss in result["misses"]:
        print(f"- {miss['attribute']}: {miss['value']} ({miss['outcome']}) | {miss['prompt']} -> {miss['response'][:160]!r}")
    out = RESULTS / "grounding.json"
    saved = json.loads(out.read_text()) if out.exists() else {}
    saved[args.label] = result
    out.write_text(json.dumps(saved, indent=2) + "\n")
    print(f"wrote {out} [{args.label}]")
    return result


if __name__ == "__main__":
    main()
