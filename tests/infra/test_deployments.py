"""prefect.yaml on a real Prefect server: the pool, the gpu limit, the deployments, and a worker that runs
the pipeline deployment (dvc repro + dvc push to a real S3 bucket) when asked with `prefect deployment run`."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from infra.deployments import BIN_DIR, PREFECT_YAML, WORK_POOL, up, worker
from tasks.gpu import GPU_LIMIT
from tests.dvc_project import make_project

pytestmark = pytest.mark.slow
BUCKET = "deployments-test"


def test_deployments_exist_and_a_run_executes_the_pipeline(prefect_server, s3_server, tmp_path):
    s3_server.create_bucket(BUCKET)
    env = {**prefect_server.env(), **s3_server.env(), "DESTAFLOW_BUCKET": BUCKET,
           "PATH": f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}", "PREFECT_HOME": str(tmp_path / "prefect-home")}
    state = tmp_path / "state"
    up(env, state)
    try:
        assert up(env, state).status() == "up"  # a second `up` changes nothing and finds the worker again
        from prefect.client.orchestration import get_client

        with prefect_server.settings(), get_client(sync_client=True) as client:
            nightly = client.read_deployment_by_name("pipeline/nightly")
            assert [schedule.schedule.cron for schedule in nightly.schedules] == ["0 2 * * *"]
            assert nightly.work_pool_name == WORK_POOL
            declared = {d["name"] for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}
            assert {f"stage-{stage}" for stage in ("train", "evaluate", "register", "generate")} <= declared
            for name in declared:
                assert client.read_deployment_by_name(f"pipeline/{name}").work_pool_name == WORK_POOL
            assert client.read_global_concurrency_limit_by_name(GPU_LIMIT).limit >= 1
            assert client.read_work_pool(WORK_POOL).type == "process"

        project = make_project(tmp_path / "project")
        run = subprocess.run([str(BIN_DIR / "prefect"), "deployment", "run", "pipeline/nightly", "--param",
                              f"project={project}", "--watch", "--watch-timeout", "300"],
                             env={**os.environ, **env}, capture_output=True, text=True, timeout=400)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "Completed" in run.stdout
        assert (project / "data" / "count.txt").read_text() == "3"
        stored = s3_server.client().list_objects_v2(Bucket=BUCKET, Prefix="dvc/").get("Contents", [])
        assert len(stored) >= 4  # three blobs, their .dir listing, the count
    finally:
        worker(env, state).stop()
