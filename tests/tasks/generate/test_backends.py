"""The vLLM HTTP client against real failing endpoints: retries with backoff, then a clear failure."""

from __future__ import annotations

import time

import pytest

from tasks.generate.backends import (
    GenerationFailed,
    GenerationRequest,
    RetryPolicy,
    Sampling,
    generate_vllm,
    served_models,
)
from tests.tasks.generate.fault_server import FaultServer, closed_port_url

SAMPLING = Sampling(max_tokens=8, temperature=0.0, top_p=1.0)
REQUESTS = [GenerationRequest(row_id=f"row-{n}", prompt_ids=[1, 2, 3], seed=n) for n in range(3)]


def run(endpoints, policy, requests=REQUESTS):
    done = []
    generate_vllm(endpoints, "m", requests, SAMPLING, policy, concurrency=2, on_done=done.append)
    return done


def test_endpoint_down_is_retried_with_backoff_then_fails_naming_row_and_error():
    policy = RetryPolicy(timeout_s=2, max_retries=2, backoff_s=0.1)
    started = time.monotonic()
    with pytest.raises(GenerationFailed) as error:
        run([closed_port_url()], policy, REQUESTS[:1])
    # Two backoffs: 0.1 s + 0.2 s.
    assert time.monotonic() - started >= 0.3
    assert "row 'row-0'" in str(error.value) and "3 attempt(s)" in str(error.value)
    assert "ConnectError" in str(error.value)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retried_max_retries_times(status):
    with FaultServer(status=status) as server:
        with pytest.raises(GenerationFailed, match=f"HTTP {status}"):
            run([server.url], RetryPolicy(timeout_s=2, max_retries=3, backoff_s=0.0), REQUESTS[:1])
    assert server.completions() == 4


def test_client_errors_fail_at_once_without_retrying():
    with FaultServer(status=400) as server:
        with pytest.raises(GenerationFailed, match="refused the request.*HTTP 400"):
            run([server.url], RetryPolicy(timeout_s=2, max_retries=3, backoff_s=0.0), REQUESTS[:1])
    assert server.completions() == 1


def test_timeouts_and_dropped_connections_are_retried():
    with FaultServer(hang_s=1.0) as hanging, FaultServer(drop=True) as dropping:
        with pytest.raises(GenerationFailed, match="Timeout"):
            run([hanging.url], RetryPolicy(timeout_s=0.2, max_retries=1, backoff_s=0.0), REQUESTS[:1])
        with pytest.raises(GenerationFailed, match="RemoteProtocolError|ReadError"):
            run([dropping.url], RetryPolicy(timeout_s=2, max_retries=1, backoff_s=0.0), REQUESTS[:1])
    assert hanging.completions() == 2 and dropping.completions() == 2


def test_retries_move_on_to_the_next_replica():
    with FaultServer(status=503) as first, FaultServer(status=503) as second:
        with pytest.raises(GenerationFailed):
            run([first.url, second.url], RetryPolicy(timeout_s=2, max_retries=3, backoff_s=0.0), REQUESTS[:1])
    # 4 attempts alternate between the two replicas.
    assert first.completions() == 2 and second.completions() == 2


def test_served_models_lists_names_and_fails_clearly_when_down():
    with FaultServer(models=["a/model", "b/model"]) as server:
        listed = served_models(server.url, RetryPolicy(timeout_s=2, max_retries=0, backoff_s=0.0))
    assert listed == ["a/model", "b/model"]
    with pytest.raises(GenerationFailed, match="listing served models"):
        served_models(closed_port_url(), RetryPolicy(timeout_s=1, max_retries=1, backoff_s=0.0))
