"""A SIGKILLed stage leaves no process behind, the temporary Prefect API server included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tasks.params import REPO_ROOT
from tests.tasks.generate.fault_server import FaultServer
from tests.tasks.generate.helpers import SMOLLM2, write_params, write_small_manifest


@pytest.mark.slow  # a stage with Prefect's temporary server: ~30-90 s on 2 busy cores
def test_a_sigkilled_stage_leaves_no_prefect_server_behind(tmp_path):
    manifest = write_small_manifest(tmp_path / "corpus")
    # The endpoint lists the backbone and never answers a completion: the stage stays busy until killed.
    with FaultServer(models=[SMOLLM2], hang_s=600) as server:
        _, params_file = write_params(tmp_path, manifest=manifest, out=str(tmp_path / "rows.jsonl"),
                                      work_dir=str(tmp_path / "work"), endpoints=[server.url])
        env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
        stage = subprocess.Popen([sys.executable, "-m", "flows.generate", "--params", str(params_file),
                                  "--metrics", str(tmp_path / "metrics.json")], cwd=REPO_ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 240
            while server.completions() == 0:  # the flow runs, so the Prefect API server is up
                assert stage.poll() is None and time.monotonic() < deadline, "the stage never reached generation"
                time.sleep(0.5)
            descendants = psutil.Process(stage.pid).children(recursive=True)
            assert any("uvicorn" in " ".join(process.cmdline()) for process in descendants)
        finally:
            stage.send_signal(signal.SIGKILL)
            stage.wait()
    _, alive = psutil.wait_procs(descendants, timeout=60)
    for process in alive:
        process.kill()
    assert [" ".join(process.cmdline())[:120] for process in alive] == []
