"""A SIGKILLed stage leaves no process behind: the watcher stops what the stage started, then exits."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil

STAGE = """
import subprocess, sys, time
from tasks import reaper
reaper.watch()
subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
time.sleep(1.0)  # a few polls of the watcher
print("ready", flush=True)
time.sleep(600)
"""


def wait_gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=timeout_s)
    return alive


def start_stage(code: str) -> tuple[subprocess.Popen, list[psutil.Process]]:
    stage = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert stage.stdout.readline() == "ready\n"
    return stage, psutil.Process(stage.pid).children(recursive=True)


def test_a_sigkilled_stage_leaves_no_process_behind_not_even_one_ignoring_sigterm():
    stage, descendants = start_stage(STAGE)
    assert len(descendants) == 3  # the watcher and two workers
    stage.send_signal(signal.SIGKILL)
    stage.wait()
    alive = wait_gone(descendants, timeout_s=30)
    for process in alive:
        process.kill()
    assert alive == []


def test_children_the_stage_had_before_watching_are_left_alone():
    code = STAGE.replace("from tasks import reaper\nreaper.watch()\n", "from tasks import reaper\n").replace(
        'time.sleep(1.0)', 'reaper.watch()\ntime.sleep(1.0)')
    stage, descendants = start_stage(code)
    stage.send_signal(signal.SIGKILL)
    stage.wait()
    time.sleep(2 * 5.0)  # past the watcher's grace
    assert sum(process.is_running() for process in descendants) == 2  # the two workers, not the watcher
    for process in descendants:
        if process.is_running():
            process.kill()
