"""A stage's child processes end with it, however it ends: even a SIGKILLed stage leaves nothing running.

Prefect's temporary API server, a local vLLM server or a renderer is a child of the stage; a SIGKILL gives
the stage no chance to stop them, and they would run on as orphans. `watch(stage_pid)` starts a small
watcher in its own session that notes the stage's descendants while it runs and, once the stage has ended
(the pipe only the stage holds closes, or the stage process is gone), stops those still running: SIGTERM,
then SIGKILL after a grace.

    python -m tasks.reaper STAGE_PID [PID...]   (stdin: the pipe; PIDs: children it leaves alone)
"""

from __future__ import annotations

import os
import select
import subprocess
import sys

import psutil

POLL_S = 0.25  # how often the watcher notes new descendants
GRACE_S = 5.0  # between SIGTERM and SIGKILL
_WATCHERS: list[subprocess.Popen] = []  # referenced for the life of the stage


def watch(stage_pid: int | None = None) -> subprocess.Popen:
    """Start the watcher for `stage_pid` (default: this process); it lives until the stage has ended.

    Children the stage already has are not its to stop (e.g. servers of a test session calling the stage).
    """
    stage_pid = stage_pid or os.getpid()
    existing = [str(child.pid) for child in psutil.Process(stage_pid).children(recursive=True)]
    read_end, write_end = os.pipe()
    watcher = subprocess.Popen([sys.executable, "-m", "tasks.reaper", str(stage_pid), *existing], stdin=read_end,
                               stdout=subprocess.PIPE, start_new_session=True, close_fds=True)
    os.close(read_end)
    watcher.stdout.readline()  # watching: from here on, what the stage starts is noted
    # write_end stays open, and only here (not inherited), for the life of this process: its end closes it.
    _WATCHERS.append(watcher)
    return watcher


def reap(stage_pid: int, existing: set[int], stage_alive, poll_s: float = POLL_S,
         grace_s: float = GRACE_S) -> list[int]:
    """Note `stage_pid`'s descendants (but `existing`) while `stage_alive(poll_s)`; then stop those still running.

    Returns the pids it stopped. psutil.Process.is_running() compares start times, so a reused pid is spared.
    """
    try:
        stage = psutil.Process(stage_pid)
    except psutil.NoSuchProcess:
        return []
    print("watching", flush=True)
    known: dict[int, psutil.Process] = {}
    while stage_alive(poll_s):
        try:
            if stage.status() == psutil.STATUS_ZOMBIE:  # killed, not yet waited for by its parent
                break
            children = stage.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        for child in children:
            if child.pid not in existing and child.pid != os.getpid():
                known.setdefault(child.pid, child)
    left = _still_running(known.values())
    for process in left:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, stubborn = psutil.wait_procs(left, timeout=grace_s)
    for process in stubborn:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    return [process.pid for process in left]


def _still_running(processes) -> list[psutil.Process]:
    """The noted processes still running, plus their own children (started after the last poll)."""
    running = {}
    for process in processes:
        try:
            if process.is_running():
                running[process.pid] = process
                running.update((child.pid, child) for child in process.children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    return list(running.values())


def _pipe_open(timeout_s: float) -> bool:
    """False once the stage's end of stdin is closed (the stage ended, by any signal)."""
    ready, _, _ = select.select([sys.stdin], [], [], timeout_s)
    return not ready or bool(os.read(sys.stdin.fileno(), 1))


if __name__ == "__main__":
    reap(int(sys.argv[1]), {int(pid) for pid in sys.argv[2:]}, _pipe_open)
