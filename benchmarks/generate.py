"""Generation throughput: vLLM against in-process transformers, and both against this machine's limit.

Both backends answer the same requests (the generate stage's own prompts: seed description + a pool
instruction in the backbone's chat template) with greedy decoding and fixed-length answers (end-of-turn
ignored, every answer exactly --max-new-tokens), so the token counts are equal and tok/s compares the
backends, not their answers. vLLM runs with the generate section's server settings (vllm_args,
vllm_env) and client concurrency; transformers with its best batch size here (--batch-size). Times
cover generation only; server start and model loading are reported apart.

The machine's limit: a torch probe measures peak matmul FLOP/s and memory bandwidth (copy) on the
threads given; a decode step of batch B costs 2 x params FLOPs per token and reads the weights once
(plus each sequence's KV cache), so limit = min(FLOP/s / FLOPs per token, bandwidth / bytes per token).

    .venv/bin/python benchmarks/generate.py [--rows 128] [--max-new-tokens 64] [--endpoint URL]

One command, about 4 minutes on the idle 2-core machine; the JSON lands in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from tasks.generate.backends import RetryPolicy, Sampling, TransformersGenerator, generate_vllm  # noqa: E402
from tasks.generate.chat import load_tokenizer  # noqa: E402
from tasks.generate.stage import generation_request, plan_rows, repo_path, resolve_generator  # noqa: E402
from tasks.generate.vllm_server import local_vllm_server  # noqa: E402
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


# ----------------------------------------------------------------------------------- machine limit
def probe_machine(threads: int, seconds: float = 2.0) -> dict:
    """Peak matmul FLOP/s (fp32, bf16) and memory copy bandwidth with `threads` torch threads."""
    torch.set_num_threads(threads)

    def rate(work, amount: float) -> float:
        work()  # warm-up
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            work()
            count += 1
        return amount * count / (time.perf_counter() - started)

    size = 1024
    flops = {}
    for dtype in (torch.float32, torch.bfloat16):
        a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        flops[str(dtype).removeprefix("torch.")] = rate(lambda: a @ b, 2 * size**3)
    source = torch.empty(64 * 2**20, dtype=torch.float32)  # 256 MiB: far beyond the caches
    target = torch.empty_like(source)
    bandwidth = rate(lambda: target.copy_(source), 2 * source.numel() * 4)  # read + write
    return {"threads": threads, "matmul_flops_per_s": {k: round(v) for k, v in flops.items()},
            "copy_bytes_per_s": round(bandwidth)}


def model_costs(model_dir: str) -> dict:
    config = json.loads((Path(model_dir) / "config.json").read_text())
    hidden, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    inter, heads = config["intermediate_size"], config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads", heads)
    head_dim = hidden // heads
    per_layer = hidden * (hidden + 2 * kv_heads * head_dim) + hidden * hidden + 3 * hidden * inter
    matmul_params = layers * per_layer + hidden * vocab  # the LM head runs for every generated token
    return {"matmul_params": matmul_params, "flops_per_token": 2 * matmul_params,
            "kv_bytes_per_token_fp32": 2 * layers * kv_heads * head_dim * 4}


def machine_limit(probe: dict, costs: dict, dtype: str, batch: int, context: int) -> dict:
    """Tokens/s this machine could reach: the lower of the compute and the memory bound."""
    weight_bytes = costs["matmul_params"] * (2 if dtype == "bfloat16" else 4)
    compute = probe["matmul_flops_per_s"][dtype] / costs["flops_per_token"]
    bytes_per_token = weight_bytes / batch + costs["kv_bytes_per_token_fp32"] * context
    memory = probe["copy_bytes_per_s"] / bytes_per_token
    return {"compute_bound_tok_s": round(compute, 1), "memory_bound_tok_s": round(memory, 1),
            "limit_tok_s": round(min(compute, memory), 1), "binds": "compute" if compute < memory else "memory",
            "batch": batch, "context_tokens": context}


# ---------------------------------------------------------------------------------------- backends
def run_vllm(params, generator, requests, sampling, endpoint: str | None, run_dir: Path) -> dict:
    gen = params.generate
    policy = RetryPolicy(timeout_s=gen.request_timeout_s, max_retries=gen.max_retries, backoff_s=gen.backoff_s)
    completions = []
    started = time.perf_counter()
    server = local_vllm_server(str(repo_path(gen.vllm_python)), generator.model_dir, generator.model, run_dir,
                               extra_args=gen.vllm_args, env=gen.vllm_env,
                               startup_timeout_s=gen.vllm_startup_timeout_s) if not endpoint else nullcontext(endpoint)
    with server as url:
        start_s = time.perf_counter() - started
        generate_vllm([url], generator.model, requests[:gen.concurrency], sampling, policy, gen.concurrency,
                      lambda completion: None)  # warm-up: first-request costs stay out of the figure
        started = time.perf_counter()
        generate_vllm([url], generator.model, requests, sampling, policy, gen.concurrency, completions.append)
        seconds = time.perf_counter() - started
    return summary(completions, seconds, start_s, {"concurrency": gen.concurrency, "vllm_args": gen.vllm_args,
                                                   "vllm_env": gen.vllm_env, "endpoint": endpoint or "local"})


def run_transformers(params, generator, requests, sampling, batch_size: int) -> dict:
    started = time.perf_counter()
    backend = TransformersGenerator(generator.model_dir, batch_size, params.model.dtype)
    load_s = time.perf_counter() - started
    backend.generate(requests[:batch_size], sampling, lambda completion: None)  # warm-up
    completions = []
    started = time.perf_counter()
    backend.generate(requests, sampling, completions.append)
    return summary(completions, time.perf_counter() - started, load_s,
                   {"batch_size": batch_size, "torch_threads": torch.get_num_threads(), "dtype": params.model.dtype})


def summary(completions, seconds: float, start_s: float, settings: dict) -> dict:
    tokens = sum(completion.tokens for completion in completions)
    return {"rows": len(completions), "tokens": tokens, "generation_s": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1), "requests_per_s": round(len(completions) / seconds, 3),
            "start_s": round(start_s, 1), "settings": settings}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=128)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16, help="transformers: rows per generate() call")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="transformers and the probe")
    parser.add_argument("--endpoint", help="a running vLLM server (default: start one with params' settings)")
    parser.add_argument("--backends", default="vllm,transformers")
    parser.add_argument("--params", default=str(REPO_ROOT / "params.yaml"))
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        root = Path(tmp)
        write_manifest(to_frame(benchmark_manifest(args.rows)), str(root / "manifest.parquet"))
        data = yaml.safe_load(Path(args.params).read_text())
        data["generate"]["manifest"] = str(root / "manifest.parquet")
        (root / "params.yaml").write_text(yaml.safe_dump(data))
        params = load_params(root / "params.yaml")
        generator = resolve_generator(params)
        tokenizer = load_tokenizer(generator.model_dir)
        requests = [generation_request(plan, 1, tokenizer, params) for plan in plan_rows(params)]
        sampling = Sampling(max_tokens=args.max_new_tokens, temperature=0.0, top_p=1.0, ignore_eos=True)
        prompt_tokens = sum(len(request.prompt_ids) for request in requests) / len(requests)
        for backend in args.backends.split(","):
            if backend == "vllm":
                results["vllm"] = run_vllm(params, generator, requests, sampling, args.endpoint, root / "vllm")
            else:
                torch.set_num_threads(args.threads)
                results["transformers"] = run_transformers(params, generator, requests, sampling, args.batch_size)

    probe = probe_machine(args.threads)
    costs = model_costs(generator.model_dir)
    batch = params.generate.concurrency
    limit = machine_limit(probe, costs, params.model.dtype, batch, int(prompt_tokens + args.max_new_tokens / 2))
    for metrics in results.values():
        metrics["fraction_of_limit"] = round(metrics["tokens_per_s"] / limit["limit_tok_s"], 3)
    if {"vllm", "transformers"} <= results.keys():
        results["ratio_vllm_to_transformers"] = round(
            results["vllm"]["tokens_per_s"] / results["transformers"]["tokens_per_s"], 2)

    report = {"benchmark": "generate", "machine": {"cpu": platform.processor() or platform.machine(),
                                                   "cores": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]},
              "settings": {**{key: value for key, value in vars(args).items() if key != "out"},
                           "mean_prompt_tokens": round(prompt_tokens, 1)},
              "probe": probe, "model": costs, "limit": limit, "results": results}
    print(format_table(report))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return report


def format_table(report: dict) -> str:
    results, limit, probe = report["results"], report["limit"], report["probe"]
    columns = ("rows", "tokens", "generation_s", "tokens_per_s", "requests_per_s", "fraction_of_limit", "start_s")
    lines = [f"{'backend':<14}" + "".join(f"{column:>18}" for column in columns)]
    for backend in ("vllm", "transformers"):
        if backend in results:
            lines.append(f"{backend:<14}" + "".join(f"{results[backend][column]!s:>18}" for column in columns))
    if "ratio_vllm_to_transformers" in results:
        lines.append(f"vLLM / transformers: {results['ratio_vllm_to_transformers']}x")
    flops = ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in probe["matmul_flops_per_s"].items())
    lines.append(f"machine ({probe['threads']} threads, load {report['machine']['load_avg_1m']:.1f}): {flops}, "
                 f"copy {probe['copy_bytes_per_s'] / 1e9:.1f} GB/s; {report['model']['flops_per_token'] / 1e6:.0f} "
                 f"MFLOP/token -> limit {limit['limit_tok_s']} tok/s ({limit['binds']}-bound at batch {limit['batch']}; "
                 f"compute {limit['compute_bound_tok_s']}, memory {limit['memory_bound_tok_s']})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
