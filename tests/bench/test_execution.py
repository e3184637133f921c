"""How a run's load is sent, decided once: one process, worker processes, or one shard; and the
connections each way opens before the run."""

from __future__ import annotations

import pytest

from crossfade.bench.execution import Shard, plan_execution
from crossfade.bench.plan import LoadPlan
from crossfade.bench.protocol import BenchRequest
from crossfade.errors import UsageError

REQUESTS = tuple(BenchRequest(i, f"p{i}", 1, 4) for i in range(12))
CLOSED = LoadPlan(concurrency=6, requests=12)
OPEN = LoadPlan(rate=5.0, max_concurrency=10, requests=12)


def test_one_process_sends_everything_and_warms_a_connection_per_slot() -> None:
    execution = plan_execution(REQUESTS, CLOSED, workers=1, shard=None)
    assert (execution.mode, execution.plan, execution.requests) == ("one process", CLOSED, REQUESTS)
    assert execution.warm_connections == 6
    assert plan_execution(REQUESTS, OPEN, workers=1, shard=None).warm_connections == 10
    uncapped = LoadPlan(rate=5.0, requests=12)
    assert plan_execution(REQUESTS, uncapped, workers=1, shard=None).warm_connections == 0


def test_with_workers_this_process_warms_nothing() -> None:
    execution = plan_execution(REQUESTS, CLOSED, workers=3, shard=None)
    assert (execution.mode, execution.workers, execution.plan) == ("workers", 3, CLOSED)
    assert execution.warm_connections == 0


def test_a_shard_runs_its_share_from_the_common_start() -> None:
    execution = plan_execution(REQUESTS, CLOSED, workers=1, shard=Shard(1, 3, 1234.5))
    assert execution.mode == "shard"
    assert execution.share is not None
    assert execution.share.worker == 1
    assert execution.requests == REQUESTS[1::3]
    assert execution.plan.concurrency == 2  # its share of the six slots
    assert execution.warm_connections == 2
    assert execution.start_at_unix == 1234.5


def test_a_shard_the_run_cannot_make_is_refused_before_anything_runs() -> None:
    with pytest.raises(UsageError, match="--shard 0/7: this run splits into at most 6 shares"):
        plan_execution(REQUESTS, CLOSED, workers=1, shard=Shard(0, 7))
