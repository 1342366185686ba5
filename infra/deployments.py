"""Prefect deployments on the local stack: the `destaflow-process` work pool, the global `gpu` concurrency
limit, every deployment of prefect.yaml, and a process worker serving the pool.

    python -m infra.deployments up       # idempotent; `make up` runs it after the servers are up
    python -m infra.deployments down     # stop the worker
    python -m infra.deployments status

Reads the stack's env file (.work/stack.env) for PREFECT_API_URL and the S3/MLflow variables; the worker
passes them on to every flow run it starts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from infra.stack import BIN_DIR, ENV_FILE, STATE_DIR, read_env_file
from tasks.gpu import GPU_LIMIT, gpu_count
from tasks.servers import Server, ServerError, ServerSpec, free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
WORK_POOL = "destaflow-process"
PREFECT_YAML = REPO_ROOT / "prefect.yaml"


def stack_env(env_file: Path = ENV_FILE) -> dict[str, str]:
    """The stack's variables (the user's own environment wins), with the venv first on PATH."""
    values = read_env_file(env_file) if env_file.is_file() else {}
    env = {**values, **{key: os.environ[key] for key in values if key in os.environ}}
    if "PREFECT_API_URL" not in env and "PREFECT_API_URL" not in os.environ:
        raise ServerError(f"no PREFECT_API_URL: start the stack first (`make up` writes {env_file})")
    return {**env, "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"}


def prefect_cli(*args: str, env: dict[str, str], check: bool = True) -> str | None:
    """`prefect ARGS` against the stack's server; None when it fails and check is False."""
    result = subprocess.run([str(BIN_DIR / "prefect"), "--no-prompt", *args], cwd=REPO_ROOT,
                            env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0 and not check:
        return None
    if result.returncode != 0:
        raise ServerError(f"`prefect {' '.join(args)}` failed ({result.returncode}):\n{result.stdout[-3000:]}"
                          f"{result.stderr[-3000:]}")
    return result.stdout


def ensure_work_pool(env: dict[str, str]) -> None:
    if prefect_cli("work-pool", "inspect", WORK_POOL, env=env, check=False) is None:
        prefect_cli("work-pool", "create", WORK_POOL, "--type", "process", env=env)


def ensure_gpu_limit(env: dict[str, str], slots: int | None = None) -> int:
    """One slot per GPU of this host (at least one, so a CPU host's limit exists for remote GPU workers)."""
    slots = slots or max(gpu_count(), 1)
    if prefect_cli("global-concurrency-limit", "inspect", GPU_LIMIT, env=env, check=False) is None:
        prefect_cli("global-concurrency-limit", "create", GPU_LIMIT, "--limit", str(slots), env=env)
    return slots


def deploy(env: dict[str, str]) -> str:
    """Every deployment of prefect.yaml; the worker runs them in this checkout (DESTAFLOW_ROOT)."""
    return prefect_cli("deploy", "--all", "--prefect-file", str(PREFECT_YAML),
                       env={**env, "DESTAFLOW_ROOT": str(REPO_ROOT)})


def worker(env: dict[str, str], state_dir: Path = STATE_DIR) -> Server:
    """The process worker serving the pool, under the one server lifecycle, health-checked on its own port."""
    # The health port is kept across `up`s, so a running worker is found again where it listens.
    port_file = state_dir / "worker.port"
    port = int(env.get("PREFECT_WORKER_WEBSERVER_PORT") or (port_file.read_text() if port_file.is_file() else 0)
               or free_port())
    state_dir.mkdir(parents=True, exist_ok=True)
    port_file.write_text(f"{port}\n")
    command = [str(BIN_DIR / "prefect"), "worker", "start", "--pool", WORK_POOL, "--type", "process",
               "--with-healthcheck", "--name", "destaflow-local"]
    return Server(ServerSpec(
        name="worker", command=command, url=f"http://127.0.0.1:{port}", health_path="/health", state_dir=state_dir,
        env={**env, "PREFECT_WORKER_WEBSERVER_HOST": "127.0.0.1", "PREFECT_WORKER_WEBSERVER_PORT": str(port)},
        marker=f"--pool\0{WORK_POOL}", startup_timeout_s=120))


def up(env: dict[str, str], state_dir: Path = STATE_DIR) -> Server:
    """Pool, gpu limit, deployments, worker: what `make up` adds to the servers. Idempotent."""
    ensure_work_pool(env)
    ensure_gpu_limit(env)
    deploy(env)
    return worker(env, state_dir).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.deployments", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--env-file", type=Path, default=ENV_FILE)
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR)
    args = parser.parse_args(argv)
    try:
        env = stack_env(args.env_file)
        if args.command == "up":
            server = up(env, args.state_dir)
        else:
            server = worker(env, args.state_dir)
            if args.command == "down":
                server.stop()
    except ServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"worker   {server.status():8} pool {WORK_POOL}, log {server.spec.log_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
