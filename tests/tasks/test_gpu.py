"""The gpu slot: free on a host without GPUs, held from the server's global limit where one is needed."""

from __future__ import annotations

import pytest

from tasks.gpu import GPU_LIMIT, gpu_count, gpu_slot


def test_no_gpu_needed_runs_without_a_server(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert gpu_count() == 0
    with gpu_slot():  # no nvidia-smi: nothing to hold, no Prefect server asked
        ran = True
    assert ran


@pytest.mark.slow
def test_slot_is_taken_from_the_global_limit(prefect_server):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError

    with prefect_server.settings(), get_client(sync_client=True) as client:
        # The session's server is shared: the deployments test may have created the limit already.
        if any(limit.name == GPU_LIMIT for limit in client.read_global_concurrency_limits()):
            client.delete_global_concurrency_limit_by_name(GPU_LIMIT)
        with pytest.raises(ConcurrencySlotAcquisitionError):  # strict: a GPU host without the limit is a set-up error
            with gpu_slot(needed=True):
                pass
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=GPU_LIMIT, limit=1))
        with gpu_slot(needed=True):
            assert client.read_global_concurrency_limit_by_name(GPU_LIMIT).active_slots == 1
        assert client.read_global_concurrency_limit_by_name(GPU_LIMIT).active_slots == 0
