"""The runner against a real streaming server: loops, schedule, stops, and nothing lost."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crossfade.bench.arrivals import arrival_offsets
from crossfade.bench.clients import make_client
from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.protocol import BenchRequest, Client, ErrorKind, RequestRecord
from crossfade.bench.results import load_records, load_result
from crossfade.bench.runner import run_load
from crossfade.bench.session import BenchConfig, overhead_note, run_bench
from crossfade.bench.targets import TargetSpec, parse_target
from crossfade.bench.workload import Workload
from tests.support.groundtruth import GroundTruth
from tests.support.results import calibration


def requests(count: int, tokens: int = 8) -> tuple[BenchRequest, ...]:
    return tuple(BenchRequest(i, f"prompt {i}", 2, tokens) for i in range(count))


def workload(count: int, tokens: int = 8) -> Workload:
    return Workload(
        source="test", seed=0, tokenizer="none", tokenizer_fingerprint="none",
        requests=requests(count, tokens),
    )  # fmt: skip


async def _run(server: GroundTruth, plan: LoadPlan, count: int, tokens: int = 8):  # type: ignore[no-untyped-def]
    client = make_client(parse_target(server.target), concurrency=64)
    await client.start()
    try:
        offsets = arrival_offsets(plan.arrivals, plan.rate, plan.seed) if plan.rate else None
        return await run_load(client, requests(count, tokens), plan, offsets)
    finally:
        await client.close()


def test_closed_loop_keeps_concurrency_and_verifies_every_length(groundtruth: GroundTruth) -> None:
    plan = LoadPlan(concurrency=4, requests=12, warmup_requests=2)
    outcome = asyncio.run(_run(groundtruth, plan, 12))
    assert outcome.stop_reason == StopReason.COMPLETED
    assert len(outcome.records) == 12
    assert all(r.ok for r in outcome.records)
    assert all(r.server_output_tokens == 8 == sum(r.chunk_tokens) for r in outcome.records)
    # Never more than 4 in flight: at any send, at most 3 others are still open.
    for record in outcome.records:
        overlapping = [
            o for o in outcome.records if o.sent_ns <= record.sent_ns < o.end_ns and o is not record
        ]
        assert len(overlapping) <= 3
    assert outcome.measure_start_ns == outcome.records[2].scheduled_ns


def test_open_loop_follows_the_absolute_schedule(groundtruth: GroundTruth) -> None:
    plan = LoadPlan(rate=50, arrivals="constant", requests=50)
    outcome = asyncio.run(_run(groundtruth, plan, 50, tokens=2))
    scheduled = np.array([r.scheduled_ns - outcome.start_ns for r in outcome.records])
    assert np.array_equal(scheduled, np.arange(50) * 20_000_000)  # exact: no drift
    lateness_ms = np.array([r.sent_ns - r.scheduled_ns for r in outcome.records]) / 1e6
    assert float(np.median(lateness_ms)) < 5.0


def test_a_request_past_its_deadline_is_a_timeout_not_a_cancellation(
    groundtruth: GroundTruth,
) -> None:
    async def go() -> list[RequestRecord]:
        plan = LoadPlan(concurrency=2, requests=2, request_timeout_s=0.1)
        client = make_client(parse_target(groundtruth.target), request_timeout_s=0.1)
        await client.start()
        try:  # 64 tokens at 20 ms TTFT and 5 ms ITL take 335 ms
            return (await run_load(client, requests(2, tokens=64), plan)).records
        finally:
            await client.close()

    records = asyncio.run(go())
    assert [r.error_kind for r in records] == [ErrorKind.TIMEOUT, ErrorKind.TIMEOUT]
    assert all(r.chunk_tokens for r in records)  # what arrived before the deadline is kept


def test_duration_stop_cancels_nothing_it_should_keep(groundtruth: GroundTruth) -> None:
    plan = LoadPlan(concurrency=2, duration_s=0.6)
    outcome = asyncio.run(_run(groundtruth, plan, 1000, tokens=4))
    assert outcome.stop_reason == StopReason.DURATION
    assert 4 <= len(outcome.records) < 1000
    assert sum(r.ok for r in outcome.records) >= len(outcome.records) - 2


def test_dead_server_counts_connect_failures_and_keeps_earlier_requests(
    groundtruth: GroundTruth, tmp_path: Path
) -> None:
    """Kill the server mid-run: earlier requests stay, the rest fail as data, and it is saved."""
    config = BenchConfig(
        parse_target(groundtruth.target), LoadPlan(concurrency=2, requests=60), tmp_path / "r",
        scrape_metrics=False,
    )  # fmt: skip

    async def main() -> None:
        async def kill_later() -> None:
            await asyncio.sleep(0.8)
            import os

            os.killpg(groundtruth.process.pid, signal.SIGKILL)

        killer = asyncio.create_task(kill_later())
        await run_bench(config, workload(60, tokens=8))
        await killer

    asyncio.run(main())
    result = load_result(tmp_path / "r")
    records = load_records(tmp_path / "r")
    assert len(records) == 60
    ok = [r for r in records if r.ok]
    failed = [r for r in records if not r.ok]
    assert ok, "requests before the kill are kept"
    assert failed, "requests after the kill fail"
    kinds = {r.error_kind for r in failed}
    assert kinds <= {ErrorKind.CONNECT, ErrorKind.TRUNCATED}
    assert result.summary.failures["connect"] >= 1
    assert result.summary.completed == len(ok)
    assert result.run.stop_reason == "completed"


def test_interrupt_saves_what_was_measured(groundtruth: GroundTruth, tmp_path: Path) -> None:
    config = BenchConfig(
        parse_target(groundtruth.target), LoadPlan(concurrency=2, requests=500), tmp_path / "i",
        scrape_metrics=False,
    )  # fmt: skip

    async def main() -> None:
        interrupt = asyncio.Event()
        asyncio.get_running_loop().call_later(0.7, interrupt.set)
        started = time.monotonic()
        await run_bench(config, workload(500, tokens=8), interrupt=interrupt)
        assert time.monotonic() - started < 5

    asyncio.run(main())
    result = load_result(tmp_path / "i")
    assert result.run.stop_reason == "interrupted"
    records = load_records(tmp_path / "i")
    assert 0 < len(records) < 500
    assert any(r.ok for r in records)
    assert all(r.ok or r.error_kind == ErrorKind.CANCELLED for r in records)


@pytest.mark.servers
def test_error_rate_stop(tmp_path: Path) -> None:
    """Nothing listens on the port: every request fails and the guard stops the run."""
    plan = LoadPlan(concurrency=2, requests=200, max_error_rate=0.5, min_requests_for_error_rate=10)

    async def main():  # type: ignore[no-untyped-def]
        client = make_client(parse_target("openai://127.0.0.1:18399/v1?model=x"), concurrency=2)
        await client.start()
        try:
            return await run_load(client, requests(200), plan)
        finally:
            await client.close()

    outcome = asyncio.run(main())
    assert outcome.stop_reason == StopReason.ERROR_RATE
    assert 10 <= len(outcome.records) < 200
    assert all(r.error_kind in (ErrorKind.CONNECT, ErrorKind.CANCELLED) for r in outcome.records)


def test_workers_split_the_load_and_merge_every_record(
    groundtruth: GroundTruth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent process only watches: its client opens no connection ahead of the run."""
    warmed: list[int] = []

    def parent_client(target: TargetSpec, *, concurrency: int = 0, **options: Any) -> Client:
        warmed.append(concurrency)
        return make_client(target, concurrency=concurrency, **options)

    monkeypatch.setattr("crossfade.bench.session.make_client", parent_client)
    config = BenchConfig(
        parse_target(groundtruth.target), LoadPlan(concurrency=4, requests=24), tmp_path / "w",
        scrape_metrics=False, workers=2,
    )  # fmt: skip
    asyncio.run(run_bench(config, workload(24, tokens=4)))
    records = load_records(tmp_path / "w")
    assert sorted(r.index for r in records) == list(range(24))
    assert {r.worker for r in records} == {0, 1}
    assert warmed == [0]
    assert all(r.ok and r.server_output_tokens == 4 for r in records)
    assert load_result(tmp_path / "w").summary.completed == 24


def test_runs_beyond_the_calibrated_client_budget_say_so() -> None:
    budget = calibration(rate=1000.0)
    assert overhead_note(9_000, 10.0, 1, budget) is None  # 900/s: within budget
    note = overhead_note(30_000, 10.0, 1, budget)
    assert note is not None
    assert "3000 chunks/s" in note
    assert "1000/s" in note
    assert overhead_note(30_000, 10.0, 4, budget) is None  # 750/s per worker
    assert overhead_note(30_000, 10.0, 1, None) is None  # nothing measured: nothing claimed
    unclean = overhead_note(10, 10.0, 1, calibration(rate=None))
    assert unclean is not None
    assert "no level was clean" in unclean
