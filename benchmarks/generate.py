"""Generation throughput: vLLM vs transformers backend on the same prompts and model.

Both backends run the real generate stage (same manifest, prompt pool, chat template, greedy decoding)
into fresh work directories; times cover generation only (server start-up and model loading are
reported apart). Prints a table and writes JSON.

    .venv/bin/python benchmarks/generate.py [--rows 16] [--max-new-tokens 64] [--endpoint URL] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from tasks.generate.stage import generate_rows  # noqa: E402
from tasks.manifest import to_frame, write_manifest  # noqa: E402
from tasks.params import REPO_ROOT, load_params  # noqa: E402
from tasks.rows import read_rows  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "generate.json"
SENTENCES = ["The train leaves at nine.", "Please close the window.", "Birds sing in the morning.",
             "Turn left at the corner.", "The soup is too hot.", "We meet again tomorrow."]


def benchmark_manifest(rows: int) -> list[dict]:
    """Speech and sound clips with varied metadata (generation reads metadata only, never audio)."""
    manifest = []
    for n in range(rows):
        speech = n % 3 != 2
        attributes = ({"gender": ("female", "male")[n % 2], "pitch": ("low", "normal", "high")[n % 3],
                       "speed": ("slow", "normal", "fast")[n % 3], "volume": "normal"} if speech
                      else {"category": ("dog bark", "door knock", "pure tone")[n % 3]})
        manifest.append({"id": f"bench-{n:04d}", "path": f"audio/bench-{n:04d}.wav", "source": "benchmark",
                         "kind": "speech" if speech else "sound", "duration_s": 2.0 + n % 5, "sample_rate": 16000,
                         "transcript": SENTENCES[n % len(SENTENCES)] if speech else "", "attributes": attributes,
                         "split": "train", "license": "n/a"})
    return manifest


def run_backend(root: Path, backend: str, args) -> dict:
    data = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    data["generate"].update(manifest=str(root / "manifest.parquet"), out=str(root / f"{backend}.jsonl"),
                            work_dir=str(root / f"work-{backend}"), backend=backend, temperature=0.0, max_attempts=1,
                            max_new_tokens=args.max_new_tokens, concurrency=args.concurrency,
                            batch_size=args.batch_size, shard_rows=args.rows,
                            endpoints=[args.endpoint] if args.endpoint else [])
    params_file = root / f"params-{backend}.yaml"
    params_file.write_text(yaml.safe_dump(data))
    started = time.perf_counter()
    metrics = generate_rows(load_params(params_file))
    metrics["wall_s"] = round(time.perf_counter() - started, 3)
    metrics["requests_per_s"] = metrics.pop("rows_per_s")
    return metrics


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8, help="vLLM: requests in flight")
    parser.add_argument("--batch-size", type=int, default=8, help="transformers: rows per generate() call")
    parser.add_argument("--endpoint", help="a running vLLM server (default: start a local one)")
    parser.add_argument("--backends", default="vllm,transformers")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # two shared cores: one thread was 3-5x faster (OFFLINE.md)

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        root = Path(tmp)
        write_manifest(to_frame(benchmark_manifest(args.rows)), str(root / "manifest.parquet"))
        for backend in args.backends.split(","):
            results[backend] = run_backend(root, backend, args)
        responses = {backend: [row["response"] for row in read_rows(str(root / f"{backend}.jsonl"))]
                     for backend in results}
    if len(responses) == 2:
        first, second = responses.values()
        results["identical_responses"] = sum(a == b for a, b in zip(first, second, strict=True)) / len(first)

    report = {"benchmark": "generate", "machine": {"cpu": platform.processor() or platform.machine(),
                                                   "torch_threads": torch.get_num_threads()},
              "settings": {key: value for key, value in vars(args).items() if key != "out"}, "results": results}
    print(format_table(results))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return report


def format_table(results: dict) -> str:
    columns = ("rows", "tokens_generated", "generation_s", "tokens_per_s", "requests_per_s", "server_start_s", "wall_s")
    lines = [f"{'backend':<14}" + "".join(f"{column:>18}" for column in columns)]
    for backend, metrics in results.items():
        if isinstance(metrics, dict):
            lines.append(f"{backend:<14}" + "".join(f"{metrics[column]!s:>18}" for column in columns))
    if "identical_responses" in results:
        lines.append(f"identical greedy responses across backends: {results['identical_responses']:.0%}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
