"""Several worker processes: the split, the merge, and stopping like one process does.

The runs use the real ground-truth server over real sockets; the CLI test interrupts the whole
process group, as a terminal's Ctrl-C does.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from crossfade.bench.loop import loop_name
from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.protocol import BenchRequest, ErrorKind, RequestRecord
from crossfade.bench.results import load_records, load_result
from crossfade.bench.runner import RunOutcome
from crossfade.bench.targets import parse_target
from crossfade.bench.workers import merge, run_workers, split
from crossfade.bench.workload import Workload
from tests.support.groundtruth import GroundTruth
from tests.support.paths import ROOT


def requests(count: int, tokens: int = 8) -> tuple[BenchRequest, ...]:
    return tuple(BenchRequest(i, f"prompt {i}", 2, tokens) for i in range(count))


def record(index: int, scheduled_ns: int, worker: int = 0) -> RequestRecord:
    return RequestRecord(index, 2, 8, scheduled_ns, worker=worker, end_ns=scheduled_ns + 10)


def outcome(
    records: list[RequestRecord], start: int, end: int, measure: int, reason: StopReason
) -> RunOutcome:
    return RunOutcome(records, start, end, measure, reason)


@pytest.fixture
def server(groundtruth: GroundTruth) -> GroundTruth:
    return groundtruth


def key(r: RequestRecord) -> tuple[int, int, int]:
    return (r.worker, r.index, r.scheduled_ns)


# --- split and merge -------------------------------------------------------------------------


def test_split_closed_loop_deals_requests_and_concurrency() -> None:
    plan = LoadPlan(concurrency=5, requests=11, warmup_requests=3, seed=7)
    shares = split(requests(11), plan, 2)
    assert [s.worker for s in shares] == [0, 1]
    assert [s.plan.concurrency for s in shares] == [3, 2]
    assert [s.plan.requests for s in shares] == [6, 5]
    assert [s.plan.warmup_requests for s in shares] == [2, 1]
    assert [s.plan.seed for s in shares] == [7, 8]
    assert [r.index for r in shares[0].requests] == [0, 2, 4, 6, 8, 10]
    assert [r.index for r in shares[1].requests] == [1, 3, 5, 7, 9]
    assert all(s.phase_ns == 0 for s in shares)


def test_split_open_loop_divides_the_rate_and_phases_constant_arrivals() -> None:
    plan = LoadPlan(rate=40, arrivals="constant", max_concurrency=9, requests=100)
    shares = split(requests(100), plan, 4)
    assert [s.plan.rate for s in shares] == [10.0] * 4
    assert [s.plan.max_concurrency for s in shares] == [2] * 4
    assert [s.phase_ns for s in shares] == [0, 25_000_000, 50_000_000, 75_000_000]
    poisson = split(requests(100), LoadPlan(rate=40, requests=100), 4)
    assert all(s.phase_ns == 0 for s in poisson)


def test_split_never_leaves_a_share_unsent() -> None:
    """Fewer slots or requests than workers: fewer workers, so no request is dealt to one
    that would never send it."""
    (only,) = split(requests(10), LoadPlan(concurrency=1, requests=10), 3)
    assert (only.plan.concurrency, only.plan.requests, len(only.requests)) == (1, 10, 10)
    shares = split(requests(1), LoadPlan(concurrency=4, requests=9), 2)
    assert [(s.plan.concurrency, s.plan.requests) for s in shares] == [(4, 9)]
    shares = split(requests(5), LoadPlan(rate=10, requests=2), 4)
    assert [(s.plan.requests, len(s.requests)) for s in shares] == [(1, 3), (1, 2)]
    with pytest.raises(ValueError, match="at least 1"):
        split(requests(4), LoadPlan(concurrency=1, requests=4), 0)


def test_merge_keeps_every_record_once_in_schedule_order() -> None:
    a = outcome([record(0, 100), record(2, 300)], 100, 400, 300, StopReason.COMPLETED)
    b = outcome([record(1, 200, 1), record(3, 250, 1)], 90, 500, 250, StopReason.COMPLETED)
    merged = merge([a, b], warmup=False)
    assert [r.index for r in merged.records] == [0, 1, 3, 2]
    assert (merged.start_ns, merged.end_ns, merged.measure_start_ns) == (90, 500, 250)
    assert merged.stop_reason == StopReason.COMPLETED
    assert merged.notes == ["2 worker processes"]
    assert merge([a, b], warmup=True).measure_start_ns == 300  # every worker past its warm-up


def test_merge_stop_reason_prefers_the_shared_cause() -> None:
    def run(reason: StopReason) -> RunOutcome:
        return outcome([], 0, 1, 0, reason)

    stopped = [run(StopReason.ERROR_RATE), run(StopReason.INTERRUPTED)]
    assert merge(stopped, warmup=False).stop_reason == StopReason.INTERRUPTED
    assert merge(stopped, False, StopReason.ERROR_RATE).stop_reason == StopReason.ERROR_RATE
    ended = [run(StopReason.COMPLETED), run(StopReason.DURATION)]
    assert merge(ended, warmup=False).stop_reason == StopReason.DURATION


# --- runs against the ground-truth server ----------------------------------------------------


def test_interrupt_stops_every_worker_and_keeps_their_records(server: GroundTruth) -> None:
    plan = LoadPlan(concurrency=8, requests=400)
    target = parse_target(server.target)
    seen: list[RequestRecord] = []

    async def main() -> RunOutcome:
        interrupt = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_record(record: RequestRecord) -> None:
            # Only progress during the run sets the interrupt: records delivered at the end
            # would leave it unset, and all 400 requests would complete.
            if not seen:
                loop.call_later(1.5, interrupt.set)
            seen.append(record)

        result = await run_workers(
            target, requests(400, tokens=64), plan, 2, on_record=on_record, interrupt=interrupt
        )
        assert interrupt.is_set()
        return result

    started = time.monotonic()
    result = asyncio.run(main())
    assert time.monotonic() - started < 15
    assert result.stop_reason == StopReason.INTERRUPTED
    records = result.records
    assert 0 < len(records) < 400
    assert len({r.index for r in records}) == len(records), "each record merged once"
    assert {r.worker for r in records} == {0, 1}
    ok = [r for r in records if r.ok]
    cancelled = [r for r in records if r.error_kind == ErrorKind.CANCELLED]
    assert ok
    assert cancelled, "the requests in flight at the interrupt"
    assert len(ok) + len(cancelled) == len(records)
    assert {r.worker for r in cancelled} == {0, 1}, "both workers were told to stop"
    # Progress saw each finished request once while the run went, and no cancelled one.
    assert sorted(map(key, seen)) == sorted(map(key, ok))
    assert all(r.server_output_tokens == 64 for r in seen)


def test_worker_processes_send_from_the_one_loop_every_command_uses(server: GroundTruth) -> None:
    """Whatever loop the parent runs on (here asyncio's own), each worker process runs its
    share on `bench.loop`'s, the loop `crossfade calibrate` measured the client on."""

    async def main() -> RunOutcome:
        assert loop_name(asyncio.get_running_loop()) == "asyncio"
        plan = LoadPlan(concurrency=2, requests=8)
        return await run_workers(parse_target(server.target), requests(8, tokens=4), plan, 2)

    outcome = asyncio.run(main())
    assert len(outcome.records) == 8
    assert outcome.event_loop == "uvloop"


def test_one_worker_over_the_error_rate_stops_them_all(server: GroundTruth) -> None:
    """Worker 0's requests (even indices) outlast the deadline, worker 1's are quick: worker 0
    trips its error-rate guard, and worker 1 stops with it, long before its share is done."""
    work = tuple(BenchRequest(i, f"prompt {i}", 2, 200 if i % 2 == 0 else 8) for i in range(600))
    plan = LoadPlan(
        concurrency=8, requests=600, max_error_rate=0.5, min_requests_for_error_rate=4,
        request_timeout_s=0.5,
    )  # fmt: skip
    started = time.monotonic()
    result = asyncio.run(run_workers(parse_target(server.target), work, plan, 2))
    assert time.monotonic() - started < 10
    assert result.stop_reason == StopReason.ERROR_RATE
    slow = [r for r in result.records if r.worker == 0]
    quick = [r for r in result.records if r.worker == 1]
    assert {r.error_kind for r in slow} <= {ErrorKind.TIMEOUT, ErrorKind.CANCELLED}
    assert quick
    assert any(r.ok for r in quick)
    assert len(quick) < 300, "worker 1 stopped before finishing its share (~5 s of work)"


# --- the command, interrupted like a terminal does -------------------------------------------


def _completed_so_far(server: GroundTruth) -> int:
    """Requests the server finished since the last call (its flush endpoint empties its log)."""
    flush = urllib.request.Request(f"http://127.0.0.1:{server.port}/groundtruth/flush", b"")
    with urllib.request.urlopen(flush, timeout=2):
        pass
    return len(server.log.read_text(encoding="utf-8").splitlines())


def test_cli_ctrl_c_with_workers_saves_an_interrupted_result(
    server: GroundTruth, tmp_path: Path
) -> None:
    workload = Workload(
        source="test", seed=0, tokenizer="none", tokenizer_fingerprint="none",
        requests=requests(400, tokens=64),
    )  # fmt: skip
    workload.save(tmp_path / "workload.jsonl")
    output = tmp_path / "result"
    command = [
        sys.executable, "-m", "crossfade", "bench", server.target,
        "--workload", str(tmp_path / "workload.jsonl"), "--concurrency", "8",
        "--requests", "400", "--workers", "2", "--no-server-metrics", "-o", str(output),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # Its own process group, so the signal reaches the workers too, as a terminal's would.
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while _completed_so_far(server) == 0:  # wait until load is flowing
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no request reached the server"
            time.sleep(0.2)
        time.sleep(1.0)
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, stderr  # stopped by SIGINT, after saving
    assert "stopped: interrupted" in stdout
    assert "Traceback" not in stderr, stderr
    result = json.loads((output / "result.json").read_text(encoding="utf-8"))
    assert result["run"]["stop_reason"] == "interrupted"
    records = load_records(output)
    assert 0 < len(records) < 400
    assert {r.worker for r in records} == {0, 1}
    assert any(r.ok for r in records)
    assert all(r.ok or r.error_kind == ErrorKind.CANCELLED for r in records)
    assert load_result(output).summary.completed == sum(r.ok for r in records)
    assert load_result(output).environment.event_loop == "uvloop"
