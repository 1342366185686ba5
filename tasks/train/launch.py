"""One command for one process and for many: `python -m tasks.train.launch --params params.yaml --result F`
is what every torchrun rank runs; `launch_training` runs it in this process (one process) or under torchrun
(train.processes per node, train.nodes nodes meeting at train.rdzv_endpoint) as a subprocess, so the Prefect
flow that calls it never runs on every rank."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from tasks.params import Params, load_params


def torchrun_command(params: Params, params_path: str, result_path: str) -> list[str]:
    train = params.train
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={train.processes}",
               f"--nnodes={train.nodes}"]
    if train.nodes > 1:
        command += ["--rdzv_backend=c10d", f"--rdzv_endpoint={train.rdzv_endpoint}"]
    else:
        command += ["--standalone"]
    return command + ["-m", "tasks.train.launch", "--params", params_path, "--result", result_path]


def launch_training(params: Params, params_path: str, result_path: str) -> dict:
    """Train and return rank 0's throughput numbers; more than one process goes through torchrun."""
    if params.train.processes * params.train.nodes == 1:
        from tasks.train.stage import run_training

        return run_training(params)
    Path(result_path).unlink(missing_ok=True)
    completed = subprocess.run(torchrun_command(params, params_path, result_path), env=os.environ.copy())
    if completed.returncode != 0:
        raise RuntimeError(f"torchrun training failed with exit code {completed.returncode} (its log is above)")
    return json.loads(Path(result_path).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train on this rank (torchrun runs one per process).")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--result", required=True, help="rank 0 writes its throughput numbers here (JSON)")
    args = parser.parse_args(argv)
    from tasks.train.stage import run_training

    result = run_training(load_params(args.params))
    if result:
        Path(args.result).parent.mkdir(parents=True, exist_ok=True)
        Path(args.result).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
