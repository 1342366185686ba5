"""The stage command line: params are validated before anything starts; expected errors exit 1 cleanly."""

from __future__ import annotations

import json

import pytest
import yaml

from flows import publish_stage, run_stage
from tasks.params import REPO_ROOT


class StageError(Exception):
    pass


def make_stage(calls: list, error: Exception | None = None):
    # run_stage needs only a callable with Prefect's `.name`; the real flows are run by each stage's tests.
    def stage(params_path, metrics_path):
        calls.append((params_path, metrics_path))
        if error:
            raise error

    stage.name = "demo_stage"
    return stage


def test_defaults_and_success():
    calls = []
    assert run_stage(make_stage(calls), "demo", []) == 0
    assert calls == [("params.yaml", "metrics/demo_stage.json")]


def test_bad_params_stop_before_the_stage_runs(tmp_path, capsys):
    data = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    data["generate"]["concurrency"] = -1
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(data))
    calls = []
    assert run_stage(make_stage(calls), "demo", ["--params", str(bad)]) == 2
    assert calls == []
    assert "generate.concurrency" in capsys.readouterr().err


def test_expected_error_exits_1_with_message_and_others_propagate(capsys):
    assert run_stage(make_stage([], StageError("12 rows failed check x")), "demo", [],
                     expected_errors=(StageError,)) == 1
    assert "12 rows failed check x" in capsys.readouterr().err
    with pytest.raises(KeyError):
        run_stage(make_stage([], KeyError("bug")), "demo", [], expected_errors=(StageError,))


@pytest.mark.slow
def test_publish_stage_writes_metrics_artifact_and_summary(prefect_server, tmp_path, capsys):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    metrics_path = tmp_path / "m" / "stage.json"

    @flow
    def publishing():
        publish_stage({"rows": 3}, str(metrics_path), "| rows | 3 |", "demo-summary", "demo")

    with prefect_server.settings():
        publishing()
        with get_client(sync_client=True) as client:
            artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["demo-summary"])))
    assert json.loads(metrics_path.read_text()) == {"rows": 3}
    assert "| rows | 3 |" in capsys.readouterr().out
    assert [(a.type, a.data) for a in artifacts] == [("markdown", "| rows | 3 |")]


def test_an_output_that_cannot_be_written_exits_1_naming_it(capsys):
    from tasks.storage import OutputWriteError

    error = OutputWriteError("data/corpus/clean.parquet", OSError(28, "No space left on device"))
    assert run_stage(make_stage([], error), "demo", []) == 1
    assert "cannot write data/corpus/clean.parquet: No space left on device" in capsys.readouterr().err
