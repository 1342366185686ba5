"""The local stack (`make up|down|status`) and the test fixtures, against the real servers on free ports."""

from __future__ import annotations

import os
import signal
import socket
import time

import httpx
import pytest

from infra.stack import Stack, free_port_pair, load_settings, main, read_env_file
from tasks.servers import free_port, group_members

pytestmark = pytest.mark.slow
CLIENT_SETTINGS = {"PREFECT_API_URL", "MLFLOW_TRACKING_URI", "AWS_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL",
                   "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DESTAFLOW_BUCKET", "PREFECT_PORT", "MLFLOW_PORT",
                   "S3_PORT"}


def free_ports_env(path):
    path.write_text(f"PREFECT_PORT={free_port()}\nMLFLOW_PORT={free_port()}\nS3_PORT={free_port_pair()}\n")
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """CLI arguments of a stack in a temp dir, and a Stack object to look at it; `down` at the end."""
    root = tmp_path_factory.mktemp("stack")
    env_file = free_ports_env(root / "stack.env")
    args = ["--env-file", str(env_file), "--state-dir", str(root / "state")]
    yield args, lambda: Stack(load_settings(env_file, create=False), root / "state", env_file)
    main(["down", *args])


def pids(stack: Stack) -> dict[str, int | None]:
    return {server.spec.name: server.recorded_pid() for server in stack.servers}


def test_up_writes_settings_with_new_credentials_and_a_second_up_is_a_no_op(stack, capsys):
    args, look = stack
    assert main(["up", *args]) == 0
    env_file = look().env_file
    settings = read_env_file(env_file)
    assert CLIENT_SETTINGS <= set(settings) and len(settings["AWS_SECRET_ACCESS_KEY"]) >= 20
    assert os.stat(env_file).st_mode & 0o077 == 0  # the secret is the user's only
    running, written = pids(look()), env_file.read_text()
    capsys.readouterr()
    assert main(["up", *args]) == 0
    assert pids(look()) == running and env_file.read_text() == written
    assert [line.split()[:2] for line in capsys.readouterr().out.splitlines()] == [
        ["s3", "up"], ["prefect", "up"], ["mlflow", "up"]]
    assert httpx.get(settings["PREFECT_API_URL"] + "/health").json() is True
    # The UI asks this server's API, not the default port's.
    prefect = look().settings.prefect
    assert httpx.get(f"{prefect.url}/ui-settings").json()["api_url"] == settings["PREFECT_API_URL"]


def test_mlflow_keeps_its_records_in_sqlite_and_its_artifacts_in_the_bucket(stack, tmp_path):
    import mlflow

    args, look = stack
    assert main(["up", *args]) == 0
    settings = look().settings
    client = mlflow.MlflowClient(settings.mlflow.url)
    experiment = client.create_experiment(f"stack-{time.time_ns()}")
    run = client.create_run(experiment)
    (tmp_path / "note.txt").write_text("kept in S3")
    client.log_artifact(run.info.run_id, str(tmp_path / "note.txt"))
    key = f"mlflow/{experiment}/{run.info.run_id}/artifacts/note.txt"
    assert settings.s3.client().get_object(Bucket=settings.bucket, Key=key)["Body"].read() == b"kept in S3"
    assert (look().mlflow.spec.state_dir / "mlflow" / "mlflow.db").is_file()


def test_a_killed_server_shows_as_crashed_and_up_starts_it_again(stack, capsys):
    args, look = stack
    assert main(["up", *args]) == 0
    killed = look().s3.recorded_pid()
    os.kill(killed, signal.SIGKILL)
    while group_members(killed):
        time.sleep(0.05)
    capsys.readouterr()
    assert main(["status", *args]) == 0
    assert "s3       crashed" in capsys.readouterr().out
    assert main(["up", *args]) == 0
    assert look().s3.status() == "up" and look().s3.recorded_pid() != killed


def test_a_port_held_by_another_program_is_an_error_naming_it_and_its_setting(tmp_path, capsys):
    env_file = free_ports_env(tmp_path / "stack.env")
    port = int(read_env_file(env_file)["MLFLOW_PORT"])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        assert main(["up", "--env-file", str(env_file), "--state-dir", str(tmp_path / "state")]) == 1
    error = capsys.readouterr().err
    assert f"port {port} is held by another program" in error and f"MLFLOW_PORT in {env_file}" in error
    assert not list((tmp_path / "state").glob("*.pid"))  # ports are checked before anything starts


def test_down_leaves_no_process_of_any_server_behind(stack, capsys):
    args, look = stack
    assert main(["up", *args]) == 0
    running = pids(look())
    assert main(["down", *args]) == 0
    assert all(group_members(pid) == [] for pid in running.values())
    assert [line.split()[:2] for line in capsys.readouterr().out.splitlines()[-3:]] == [
        ["s3", "down"], ["prefect", "down"], ["mlflow", "down"]]


def test_the_fixtures_serve_mlflow_with_s3_artifacts_and_prefect_flow_runs(mlflow_server, prefect_server, tmp_path):
    import mlflow
    from prefect import flow, get_client

    client = mlflow.MlflowClient(mlflow_server.url)
    run = client.create_run(client.create_experiment(f"fixture-{time.time_ns()}"))
    (tmp_path / "a.txt").write_text("a")
    client.log_artifact(run.info.run_id, str(tmp_path / "a.txt"))
    listed = mlflow_server.s3.client().list_objects_v2(Bucket=mlflow_server.bucket)["Contents"]
    assert any(item["Key"].endswith(f"{run.info.run_id}/artifacts/a.txt") for item in listed)

    @flow(name="fixture-probe")
    def probe() -> int:
        return 7

    with prefect_server.settings():
        assert probe() == 7
        with get_client(sync_client=True) as prefect:
            probe_id = prefect.read_flow_by_name("fixture-probe").id
            runs = [run for run in prefect.read_flow_runs() if run.flow_id == probe_id]
    assert [run.state.type.value for run in runs] == ["COMPLETED"]  # the server is shared by the session
