"""Process handling of the local vLLM server: orphans of killed runs, process-group stop."""

from __future__ import annotations

import subprocess
import sys

from tasks.generate.vllm_server import ENTRYPOINT, SERVER_NAME, vllm_server
from tasks.servers import group_members, stop_process_group

# Starts a process group (a sleeper with a sleeping child) and exits, orphaning it like a SIGKILLed stage.
LAUNCHER = """
import subprocess, sys
sleep = "import time; time.sleep(60)"
code = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {sleep!r}]); {sleep}"
group = subprocess.Popen([sys.executable, "-c", code, *sys.argv[1:]], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # or run() waits for them
print(group.pid)
"""


def orphaned_group(*marker: str) -> int:
    """The pid (= process group id) of an orphaned group; `marker` lands in its command line."""
    launched = subprocess.run([sys.executable, "-c", LAUNCHER, *marker], capture_output=True, text=True, check=True)
    return int(launched.stdout)


def this_runs_server(run_dir):
    """The server a new stage run would start in `run_dir` (another port than any earlier run's)."""
    return vllm_server(sys.executable, "models/any", "any", run_dir)


def test_a_server_left_by_a_killed_run_is_stopped_with_its_children(tmp_path):
    pid = orphaned_group(ENTRYPOINT, "--port", "12345")
    pid_file = tmp_path / f"{SERVER_NAME}.pid"
    pid_file.write_text(str(pid))
    this_runs_server(tmp_path).stop()
    assert group_members(pid) == [] and not pid_file.exists()


def test_a_stale_pid_file_never_kills_an_unrelated_process(tmp_path):
    pid = orphaned_group()
    pid_file = tmp_path / f"{SERVER_NAME}.pid"
    pid_file.write_text(str(pid))
    try:
        this_runs_server(tmp_path).stop()
        assert pid in group_members(pid) and not pid_file.exists()
    finally:
        stop_process_group(pid)
    assert group_members(pid) == []
