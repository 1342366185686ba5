"""The DVC remote on a real S3 server: push, pull into a fresh clone, and a server killed during push."""

from __future__ import annotations

import hashlib
import secrets
import shutil
import threading
import time

import pytest

from infra.stack import S3Endpoint, free_port_pair, s3_spec
from tasks.pipeline import PipelineError, configure_remote, push, repro
from tasks.servers import Server
from tests.dvc_project import dvc, git, make_project

pytestmark = pytest.mark.slow
BUCKET = "dvc-tests"


def remote_objects(s3: S3Endpoint) -> dict[str, bytes]:
    client = s3.client()
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="dvc/").get("Contents", [])
    return {item["Key"]: client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed}


def test_fresh_clone_pulls_every_artifact(s3_env, tmp_path):
    s3_env.create_bucket(BUCKET)
    project = make_project(tmp_path / "project")
    configure_remote(project, BUCKET, s3_env.url)
    repro(project)
    push(project)
    git(project, "add", "dvc.lock"), git(project, "commit", "-qm", "outputs")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    configure_remote(clone, BUCKET, s3_env.url)
    pulled = dvc(clone, "pull")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    for path in ["data/count.txt", *(f"data/blobs/{i:03d}.bin" for i in range(3))]:
        assert (clone / path).read_bytes() == (project / path).read_bytes()
    # Nothing to do: the clone's workspace matches dvc.lock.
    assert "up to date" in dvc(clone, "status").stdout.lower() or dvc(clone, "status").stdout.strip() == ""


def test_s3_killed_during_push_fails_clearly_and_leaves_only_whole_objects(tmp_path, monkeypatch):
    s3 = S3Endpoint(free_port_pair(), f"kill-{secrets.token_hex(4)}", secrets.token_urlsafe(16))
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    server = Server(s3_spec(s3, tmp_path / "s3", "the test's port"))
    project = make_project(tmp_path / "project", files=20, size=2**20)
    with server:
        s3.create_bucket(BUCKET)
        configure_remote(project, BUCKET, s3.url)
        repro(project)

        def kill_after_first_objects():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(s3.client().list_objects_v2(Bucket=BUCKET).get("Contents", [])) < 3:
                time.sleep(0.05)
            server.stop()  # the whole process group, mid-upload

        killer = threading.Thread(target=kill_after_first_objects)
        killer.start()
        with pytest.raises(PipelineError, match="failed with exit code") as failure:
            push(project, jobs=1)
        killer.join()
        assert "nothing incomplete is recorded as pushed" in str(failure.value)

    with server:  # back on the same data: the remote holds only whole objects, named by their md5
        stored = remote_objects(s3)
        assert 0 < len(stored) < 22  # 20 blobs + the .dir listing + the count
        for key, body in stored.items():
            assert key.replace("dvc/files/md5/", "").replace("/", "").removesuffix(".dir") == hashlib.md5(body).hexdigest()
        status = dvc(project, "status", "--cloud")
        assert "new:" in status.stdout  # what is missing is known
        push(project)
        assert "in sync" in dvc(project, "status", "--cloud").stdout
        clone = tmp_path / "clone"
        git(project, "add", "dvc.lock"), git(project, "commit", "-qm", "outputs")
        git(tmp_path, "clone", "-q", str(project), str(clone))
        configure_remote(clone, BUCKET, s3.url)
        assert dvc(clone, "pull").returncode == 0
        assert (clone / "data/blobs/019.bin").read_bytes() == (project / "data/blobs/019.bin").read_bytes()
    shutil.rmtree(tmp_path / "s3", ignore_errors=True)
