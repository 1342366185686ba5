"""One lifecycle for every local server: vLLM, the S3 server, Prefect, MLflow.

A server runs in its own process group (its workers with it), writes its output to `<state_dir>/<name>.log`
and its group leader's pid to `<state_dir>/<name>.pid`, is ready when its health URL answers 200, and is
stopped by process group: SIGTERM, then SIGKILL for what is left after a grace period. The PID file lets
another process (`make down`, the next stage run) see it and stop it:

    spec = ServerSpec("mlflow", command, "http://127.0.0.1:5000", "/health", state_dir,
                      ports=(Port(5000, "MLFLOW_PORT"),))
    server = Server(spec)
    server.start()        # no-op when it is up; clear error when a port is held by another program
    server.status()       # "up" | "down" | "crashed" (PID file, process gone)
    server.stop()         # no process of the group is left
    with Server(spec) as server: ...   # started for the block, stopped however it ends
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

LOG_TAIL_LINES = 40
State = Literal["up", "down", "crashed"]


class ServerError(RuntimeError):
    pass


class ServerStartError(ServerError):
    pass


class PortInUse(ServerError):
    pass


@dataclass(frozen=True)
class Port:
    """A port a server listens on and the setting that moves it (named in the port-conflict error)."""

    number: int
    setting: str


@dataclass(frozen=True)
class ServerSpec:
    name: str
    command: list[str]
    url: str  # base URL, http://127.0.0.1:PORT
    health_path: str  # GET url + health_path answers 200 when the server is ready
    state_dir: Path
    ports: tuple[Port, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    # A piece of the leader's command line (NUL-separated argv) that identifies this server: a PID file whose
    # pid now belongs to an unrelated program must never get that program killed. Default: all arguments.
    marker: str = ""
    startup_timeout_s: float = 60.0
    stop_grace_s: float = 20.0
    # Appended to the not-ready-in-time error: which setting gives a slow machine more time.
    timeout_hint: str = ""

    @property
    def health_url(self) -> str:
        return self.url + self.health_path

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    @property
    def identity(self) -> bytes:
        return (self.marker or "\0".join(self.command[1:])).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` (SO_REUSEADDR like servers, so TIME_WAIT is free)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def _stat_fields(stat_file: Path) -> list[str] | None:
    """State, parent, process group, ... of a process or thread (after the parenthesised name), None if gone."""
    try:
        return stat_file.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def is_alive(pid: int) -> bool:
    """A running process: one of its threads still runs. Zombies do not count (in a container PID 1 may never
    reap them), but a multi-threaded process's leader shows as a zombie as soon as its own thread exits, while
    the other threads still hold its files, listening sockets included."""
    for stat_file in Path(f"/proc/{pid}/task").glob("[0-9]*/stat"):
        fields = _stat_fields(stat_file)
        if fields and fields[0] not in ("Z", "X"):
            return True
    return False


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group."""
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        pid = int(stat_file.parent.name)
        fields = _stat_fields(stat_file)
        if fields and int(fields[2]) == pgid and is_alive(pid):
            members.append(pid)
    return members


def stop_process_group(pgid: int, grace_s: float = 20.0, process: subprocess.Popen | None = None) -> None:
    """SIGTERM the group, SIGKILL what is left after `grace_s`; returns when no member is left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while group_members(pgid) and time.monotonic() < deadline:
        if process is not None:
            process.poll()  # reap our own child
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while group_members(pgid):
        time.sleep(0.05)
    if process is not None:
        process.poll()


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


class Server:
    def __init__(self, spec: ServerSpec):
        self.spec = spec
        self.process: subprocess.Popen | None = None  # set when this process started it

    # ------------------------------------------------------------------------------------------- state
    def recorded_pid(self) -> int | None:
        try:
            return int(self.spec.pid_file.read_text().strip() or 0) or None
        except FileNotFoundError:
            return None

    def _is_ours(self, pid: int) -> bool:
        try:
            return is_alive(pid) and self.spec.identity in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    def status(self) -> State:
        pid = self.recorded_pid()
        if pid is None:
            return "down"
        return "up" if self._is_ours(pid) else "crashed"

    def healthy(self) -> bool:
        return _http_ok(self.spec.health_url)

    # ------------------------------------------------------------------------------------------- start
    def start(self) -> Server:
        """Start the server and wait until it is healthy; a server already up is only health-checked."""
        if not self.launch():
            self.wait_ready()
            return self
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self) -> bool:
        """Start the process without waiting for it; False when it was already up."""
        if self.status() == "up":
            return False
        self.stop()  # what a crashed run left: its group's survivors, its PID file
        self.check_ports()
        self.spec.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.spec.log_file, "a") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(self.spec.command)}\n")
            log.flush()
            # Own session = own process group: stopping the group stops the server's workers too.
            self.process = subprocess.Popen(self.spec.command, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            env={**os.environ, **self.spec.env})
        self.spec.pid_file.write_text(f"{self.process.pid}\n")
        return True

    def check_ports(self) -> None:
        for port in self.spec.ports:
            if not port_is_free(port.number):
                raise PortInUse(f"{self.spec.name}: port {port.number} is held by another program; "
                                f"stop that program or move the server with the setting {port.setting}")

    def wait_ready(self) -> None:
        spec = self.spec
        deadline = time.monotonic() + spec.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerStartError(f"{spec.name} server exited with code {self.process.returncode} during "
                                       f"start-up; log {spec.log_file}, last lines:\n{log_tail(spec.log_file)}")
            if self.process is None and self.status() != "up":
                raise ServerStartError(f"{spec.name} server is {self.status()}; log {spec.log_file}")
            if self.healthy():
                return
            time.sleep(0.25)
        raise ServerStartError(f"{spec.name} server not healthy at {spec.health_url} after "
                               f"{spec.startup_timeout_s:.0f} s{spec.timeout_hint}; log {spec.log_file}, "
                               f"last lines:\n{log_tail(spec.log_file)}")

    # -------------------------------------------------------------------------------------------- stop
    def stop(self) -> None:
        """Stop the recorded server's process group (or what is left of it) and remove the PID file."""
        pid = self.recorded_pid()
        if pid is not None and (self._is_ours(pid) or not is_alive(pid)):
            # A dead leader's pid cannot be reused while its group has members: they are this server's.
            stop_process_group(pid, self.spec.stop_grace_s, self.process)
        if self.process is not None:
            self.process.wait()
            self.process = None
        self.spec.pid_file.unlink(missing_ok=True)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
