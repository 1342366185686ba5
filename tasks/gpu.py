"""One GPU-work slot at a time per GPU, across every flow run: Prefect's global concurrency limit `gpu`.

`make up` (infra/deployments.py) creates the limit with one slot per GPU of the host. Work that loads a
GPU (training, a local vLLM server on a GPU host) holds a slot while it runs; elsewhere (no CUDA device, or
no Prefect server) it runs without waiting.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator

GPU_LIMIT = "gpu"


def gpu_count() -> int:
    """CUDA devices on this host, by nvidia-smi (no torch import: vLLM's host may lack torch)."""
    if shutil.which("nvidia-smi") is None:
        return 0
    result = subprocess.run(["nvidia-smi", "--list-gpus"], capture_output=True, text=True)
    return len(result.stdout.splitlines()) if result.returncode == 0 else 0


@contextlib.contextmanager
def gpu_slot(slots: int = 1, needed: bool | None = None) -> Iterator[None]:
    """Hold `slots` of the `gpu` limit while the block runs (needed=None: only on a host with a GPU)."""
    if needed is None:
        needed = gpu_count() > 0
    if not needed:
        yield
        return
    from prefect.concurrency.sync import concurrency

    # strict: on a GPU host a missing limit is a set-up error (`make up` creates it), not a free pass.
    with concurrency(GPU_LIMIT, occupy=slots, strict=True):
        yield
