"""Serve the generator LLM by hand with the stage's own settings: `python -m tasks.generate.serve`.

The same command line the generate stage uses for its local server (generate.vllm_python,
vllm_args, vllm_env, the resolved backbone under its model name), in the foreground. Start one per
GPU/machine and list them in generate.endpoints to spread generation across replicas.
"""

from __future__ import annotations

import argparse
import os
import shlex

from tasks.generate.stage import repo_path, resolve_generator
from tasks.generate.vllm_server import server_command
from tasks.params import load_params


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept other machines")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    generator = resolve_generator(params)
    command = server_command(str(repo_path(params.generate.vllm_python)), generator.model_dir, generator.model,
                             args.port, params.generate.vllm_args, host=args.host)
    env = params.generate.vllm_env
    print(" ".join([*(f"{key}={shlex.quote(value)}" for key, value in env.items()), shlex.join(command)]), flush=True)
    if not args.dry_run:
        os.execve(command[0], command, {**os.environ, **env})


if __name__ == "__main__":
    main()
