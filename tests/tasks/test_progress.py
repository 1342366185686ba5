"""The progress reporter: console lines with rate and ETA, throttled Prefect progress artifacts."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tasks.progress import Progress, artifact_key


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_log_lines_show_counts_rate_and_eta_at_the_interval(caplog):
    clock = FakeClock()
    with caplog.at_level(logging.INFO, logger="destaflow.progress"):
        with Progress(total=100, desc="generate", unit="rows", log_interval_s=10, console=False, clock=clock) as bar:
            for _ in range(50):
                clock.now += 1.0  # one row a second
                bar.update(1, tok_s=42)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 5 + 1  # every 10 s over 50 s, plus the closing line
    assert lines[0].startswith("generate:  10% 10/100 [00:10<01:30,  1.00rows/s")
    assert "tok_s=42" in lines[0]
    assert lines[-1].startswith("generate:  50% 50/100 [00:50<00:50")


def test_terminal_bar_counts_every_update(capsys):
    with Progress(total=3, desc="generate", unit="rows", console=True) as bar:
        bar.update(2)
        bar.update(1)
    assert "3/3" in capsys.readouterr().err


def test_outside_a_flow_run_prefect_is_left_alone():
    bar = Progress(total=2, desc="generate", console=False)
    bar.update(2)
    bar.close()
    assert not bar.prefect.enabled and bar.prefect.artifact_id is None


def test_artifact_keys_are_what_prefect_accepts():
    assert artifact_key("Generate rows (vLLM)") == "generate-rows-vllm-progress"


@pytest.mark.slow
def test_inside_a_flow_run_progress_reaches_prefect_throttled():
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.testing.utilities import prefect_test_harness

    clock = FakeClock()
    calls = []

    @flow
    def long_stage():
        bar = Progress(total=1000, desc="long stage", console=False, prefect_interval_s=5.0, clock=clock)
        original = bar.prefect.send

        def counted(percent, description, force=False):
            before = bar.prefect.last_sent
            original(percent, description, force)
            if bar.prefect.last_sent != before:
                calls.append(percent)

        bar.prefect.send = counted

        async def rows_finishing():  # like generation: updates come from inside an event loop
            for _ in range(1000):
                clock.now += 0.1  # 100 s in all: one API call per 5 s at most
                bar.update(1)

        asyncio.run(rows_finishing())
        bar.close()
        return bar.prefect.artifact_id

    with prefect_test_harness(server_startup_timeout=180):  # 2 shared cores can be slow to start it
        artifact_id = long_stage()
        with get_client(sync_client=True) as client:
            artifact = client.read_artifacts()[0]
    assert artifact.id == artifact_id and artifact.type == "progress" and artifact.data == 100.0
    assert artifact.key == "long-stage-progress"
    assert 19 <= len(calls) <= 22 and calls[-1] == 100.0
