"""The server lifecycle on a real (tiny) HTTP server: Python's http.server with a child process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tasks.servers import (Port, PortInUse, Server, ServerSpec, ServerStartError, free_port, group_members,
                           is_alive, port_is_free)

# An HTTP server that also starts a child (like a server's workers): both must go when the group is stopped.
WITH_CHILD = ("import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
              "sys.argv = ['http.server', '--bind', '127.0.0.1', sys.argv[1]]; "
              "import runpy; runpy.run_module('http.server', run_name='__main__')")


def web_spec(tmp_path, port: int | None = None, **overrides) -> ServerSpec:
    port = port or free_port()
    settings = dict(name="web", command=[sys.executable, "-c", WITH_CHILD, str(port)], url=f"http://127.0.0.1:{port}",
                    health_path="/", state_dir=tmp_path / "state", ports=(Port(port, "WEB_PORT"),),
                    startup_timeout_s=30, stop_grace_s=5)
    return ServerSpec(**{**settings, **overrides})


@pytest.fixture
def web(tmp_path):
    server = Server(web_spec(tmp_path))
    yield server
    server.stop()


def test_start_is_idempotent_and_writes_pid_and_log(web):
    web.start()
    pid = web.recorded_pid()
    assert web.status() == "up" and web.healthy()
    assert len(group_members(pid)) == 2  # the server and its child
    Server(web.spec).start()  # another process's `up`: finds it up, starts nothing
    assert web.recorded_pid() == pid and len(group_members(pid)) == 2
    assert "starting:" in web.spec.log_file.read_text()


def test_stop_from_another_process_leaves_no_process_of_the_group(web):
    web.start()
    pid = web.recorded_pid()
    Server(web.spec).stop()  # `make down`: knows the server only by its PID file
    assert group_members(pid) == [] and web.status() == "down" and not web.spec.pid_file.exists()


def test_a_killed_server_is_crashed_and_the_next_start_replaces_it(web):
    web.start()
    pid = web.recorded_pid()
    os.kill(pid, signal.SIGKILL)
    web.process.wait()
    assert web.status() == "crashed"
    web.start()  # cleans what the crash left (the orphaned child) and starts afresh
    assert web.status() == "up" and web.recorded_pid() != pid and group_members(pid) == []


def test_a_port_held_by_another_program_names_the_port_and_its_setting(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = Server(web_spec(tmp_path, port))
        with pytest.raises(PortInUse, match=f"port {port} is held by another program.*setting WEB_PORT"):
            server.start()
    assert server.status() == "down"


def test_a_pid_file_naming_an_unrelated_process_never_gets_it_killed(tmp_path):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        server = Server(web_spec(tmp_path))
        server.spec.state_dir.mkdir(parents=True)
        server.spec.pid_file.write_text(str(bystander.pid))
        assert server.status() == "crashed"
        server.stop()
        assert is_alive(bystander.pid) and not server.spec.pid_file.exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_a_server_that_exits_during_start_up_fails_with_its_log(tmp_path):
    server = Server(web_spec(tmp_path, command=[sys.executable, "-c", "raise SystemExit('no model here')"]))
    with pytest.raises(ServerStartError, match="(?s)web server exited with code 1.*no model here"):
        server.start()
    assert server.status() == "down"


def test_a_server_never_healthy_is_stopped_with_the_hint(tmp_path):
    spec = web_spec(tmp_path, health_path="/missing", startup_timeout_s=1.5, timeout_hint=" (raise WEB_TIMEOUT)")
    server = Server(spec)
    started = time.monotonic()
    with pytest.raises(ServerStartError, match=r"not healthy at .*/missing after 2 s \(raise WEB_TIMEOUT\)"):
        server.start()
    assert time.monotonic() - started < 15 and server.status() == "down"


# The main thread ends (the leader turns zombie) while another thread keeps a listening socket, as a
# multi-threaded server's threads do for a moment after a SIGKILL.
LEADER_GONE_THREAD_LISTENS = (
    "import ctypes, socket, sys, threading, time\n"
    "listener = socket.create_server(('127.0.0.1', int(sys.argv[1])))\n"
    "threading.Thread(target=time.sleep, args=(300,)).start()\n"
    "ctypes.CDLL(None).pthread_exit(None)\n")


def test_a_process_whose_leader_thread_ended_is_alive_while_another_thread_holds_its_files():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", LEADER_GONE_THREAD_LISTENS, str(port)], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while "Z" not in open(f"/proc/{process.pid}/stat").read().rsplit(")", 1)[1].split()[0]:
            assert time.monotonic() < deadline, "the leader thread never ended"
            time.sleep(0.05)
        assert is_alive(process.pid) and group_members(process.pid) == [process.pid]
        assert not port_is_free(port)  # what a restart would hit if the group counted as gone
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert not is_alive(process.pid) and group_members(process.pid) == []
