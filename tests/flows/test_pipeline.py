"""The pipeline flow against a real Prefect server and S3: push retried, then a clear failure."""

from __future__ import annotations

import pytest

from flows.pipeline import pipeline
from tasks.pipeline import PipelineError
from tests.dvc_project import make_project

pytestmark = pytest.mark.slow


def test_push_to_a_dead_s3_is_retried_then_fails_clearly(prefect_server, tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    # A bucket on a port nothing listens on: every push attempt fails to connect.
    monkeypatch.setenv("DESTAFLOW_BUCKET", "nowhere")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    with prefect_server.settings():
        state = pipeline(project=str(project), return_state=True)
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    assert state.is_failed()
    with pytest.raises(PipelineError, match="upload the outputs to the S3 remote.*nothing incomplete is recorded"):
        state.result()
    push = [run for run in runs if run.name.startswith("dvc-push")]
    assert [run.run_count for run in push] == [3]  # the first try and two retries
    assert (project / "data" / "count.txt").read_text() == "3"  # the stages ran; their outputs stay
