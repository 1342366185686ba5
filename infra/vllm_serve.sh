#!/usr/bin/env bash
# Serve the generator LLM with vLLM's OpenAI-compatible API by hand, with exactly the arguments the
# generate stage uses (params.yaml: generate.vllm_python, vllm_args, vllm_env; the backbone model).
#   infra/vllm_serve.sh [PORT] [HOST]      e.g. infra/vllm_serve.sh 8000 0.0.0.0
#   PARAMS=other.yaml infra/vllm_serve.sh  (another params file)   DRY_RUN=1: print the command only
# Then set generate.endpoints: ["http://HOST:PORT"] (one entry per replica).
set -euo pipefail
cd "$(dirname "$0")/.."
args=(--params "${PARAMS:-params.yaml}" --port "${1:-8000}" --host "${2:-127.0.0.1}")
[[ -n "${DRY_RUN:-}" ]] && args+=(--dry-run)
exec .venv/bin/python -m tasks.generate.serve "${args[@]}"
