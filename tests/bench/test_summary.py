"""Run summaries: exact statistics, throughput over the window, failures and length checks."""

from __future__ import annotations

import json
import math

import pytest

from crossfade.bench.dialects.base import ServerTimes
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.slo import parse_slos
from crossfade.bench.summary import (
    Summary,
    check_lengths,
    describe,
    error_groups,
    in_window,
    merge_error_groups,
    server_clock,
    summarize,
)
from tests.bench.test_metrics import MS, SERVER_EPOCH, make_record

S = 1_000_000_000


def test_describe_one_to_hundred() -> None:
    stats = describe(range(1, 101))
    assert stats.count == 100
    assert (stats.min, stats.max, stats.mean) == (1, 100, 50.5)
    assert stats.std == pytest.approx(math.sqrt((100**2 - 1) / 12))  # population std
    assert stats.p50 == pytest.approx(50.5)
    assert stats.p90 == pytest.approx(90.1)
    assert stats.p95 == pytest.approx(95.05)
    assert stats.p99 == pytest.approx(99.01)
    assert stats.p99_9 == pytest.approx(99.901)


def test_describe_four_values() -> None:
    stats = describe([40, 10, 30, 20])
    assert (stats.count, stats.min, stats.max, stats.mean) == (4, 10, 40, 25)
    assert stats.std == pytest.approx(math.sqrt(125))
    assert stats.p50 == pytest.approx(25)
    assert stats.p90 == pytest.approx(37)
    assert stats.p95 == pytest.approx(38.5)
    assert stats.p99 == pytest.approx(39.7)
    assert stats.p99_9 == pytest.approx(39.97)


def test_describe_nothing_and_one_value() -> None:
    empty = describe([])
    assert empty.count == 0
    assert empty.mean is None
    assert empty.p99 is None
    single = describe([7])
    assert (single.count, single.std, single.p50, single.p99_9) == (1, 0, 7, 7)


def test_in_window_drops_warmup_and_late_schedules() -> None:
    records = [make_record(index=i, sent=at) for i, at in enumerate([99, 100, 150, 200, 201])]
    assert [r.index for r in in_window(records, 100, 200)] == [1, 2, 3]


def run_records() -> list[RequestRecord]:
    """Three successes (one ends after the window) and two failures, in a 2 s window."""
    return [
        make_record(index=0, sent=0, chunks=[(100 * MS, 1), (500 * MS, 9)]),
        make_record(index=1, sent=1 * S, chunks=[(1 * S + 200 * MS, 1), (1 * S + 500 * MS, 19)]),
        make_record(index=2, sent=1 * S + 900 * MS, chunks=[(2 * S + 300 * MS, 5)]),
        make_record(index=3, sent=0, chunks=[(9 * S, 1)], end=10 * S, error=ErrorKind.TIMEOUT),
        make_record(index=4, sent=0, chunks=[], end=1 * MS, error=ErrorKind.HTTP_STATUS),
    ]


def test_throughput_counts_completions_ending_inside_the_window() -> None:
    summary = summarize(run_records(), 0, 2 * S)
    assert summary.window_s == 2.0
    assert (summary.requests, summary.completed, summary.failed) == (5, 3, 2)
    assert summary.completed_in_window == 2  # request 2 ended at 2.3 s
    assert summary.request_throughput_per_s == pytest.approx(1.0)
    assert summary.output_token_throughput_per_s == pytest.approx((10 + 20) / 2)


def test_window_end_is_inclusive() -> None:
    records = [make_record(sent=0, chunks=[(1 * S, 3)])]
    assert summarize(records, 0, 1 * S).completed_in_window == 1
    assert summarize(records, 0, 1 * S - 1).completed_in_window == 0


def test_failures_are_counted_by_kind_and_kept_out_of_latencies() -> None:
    summary = summarize(run_records(), 0, 2 * S)
    assert set(summary.failures) == set(ErrorKind)
    assert summary.failures[ErrorKind.TIMEOUT] == 1
    assert summary.failures[ErrorKind.HTTP_STATUS] == 1
    assert sum(summary.failures.values()) == 2
    dists = summary.distributions
    assert dists.ttft_ns.count == 3
    assert dists.ttft_ns.max == 400 * MS  # not the timed-out request's 9 s
    assert dists.e2e_ns.max == 500 * MS


def failed(kind: ErrorKind, message: str) -> RequestRecord:
    record = make_record(chunks=[], error=kind)
    record.error = message
    return record


def test_errors_are_grouped_by_kind_with_their_first_distinct_messages() -> None:
    records = [
        failed(ErrorKind.CONNECT, "connection refused"),
        failed(ErrorKind.HTTP_STATUS, "HTTP 400: unknown model 'vllm_modle'"),
        failed(ErrorKind.HTTP_STATUS, "HTTP 400: unknown model 'vllm_modle'"),
        make_record(),
        *(failed(ErrorKind.HTTP_STATUS, f"HTTP 500: message {n}") for n in range(5)),
    ]
    groups = error_groups(records)
    assert [(g.kind, g.count) for g in groups] == [
        (ErrorKind.HTTP_STATUS, 7),
        (ErrorKind.CONNECT, 1),
    ]
    assert groups[0].messages == [
        "HTTP 400: unknown model 'vllm_modle'",
        "HTTP 500: message 0",
        "HTTP 500: message 1",
    ]
    assert summarize(records, 0, S).errors == groups


def test_merged_groups_are_the_groups_of_all_the_records() -> None:
    first = [failed(ErrorKind.TIMEOUT, "slow"), failed(ErrorKind.CONNECT, "refused")]
    second = [failed(ErrorKind.CONNECT, f"refused {n}") for n in range(4)]
    second.append(failed(ErrorKind.TIMEOUT, "slow"))
    merged = merge_error_groups([error_groups(first), error_groups(second)])
    assert merged == error_groups(first + second)
    assert [(g.kind, g.count) for g in merged] == [(ErrorKind.CONNECT, 5), (ErrorKind.TIMEOUT, 2)]
    assert merged[0].messages == ["refused", "refused 0", "refused 1"]


def test_a_tie_between_kinds_keeps_the_kind_seen_first() -> None:
    records = [failed(ErrorKind.TIMEOUT, "slow"), failed(ErrorKind.CONNECT, "refused")]
    assert [g.kind for g in error_groups(records)] == [ErrorKind.TIMEOUT, ErrorKind.CONNECT]


@pytest.mark.parametrize(
    ("ok", "bad", "target_failed"),
    [(0, 0, True), (0, 5, True), (2, 3, True), (3, 3, False), (5, 1, False), (5, 0, False)],
)
def test_a_target_failed_when_nothing_or_under_half_succeeded(
    ok: int, bad: int, target_failed: bool
) -> None:
    records = [make_record(index=n) for n in range(ok)]
    records += [failed(ErrorKind.HTTP_STATUS, "HTTP 500") for _ in range(bad)]
    assert summarize(records, 0, S).target_failed is target_failed


def test_distributions_pool_tokens_and_chunks() -> None:
    dists = summarize(run_records(), 0, 2 * S).distributions
    assert dists.itl_ns.count == 9 + 19 + 4  # OSL - 1 per request
    assert dists.chunk_gap_ns.count == 2
    assert dists.tpot_ns.count == 3
    assert dists.tpot_ns.min == 0  # the single-chunk request
    assert dists.output_tokens_per_s.count == 2  # no rate without decode time
    assert (dists.output_tokens.min, dists.output_tokens.max) == (5, 20)
    assert dists.tokens_per_chunk.count == 5
    assert dists.tokens_per_chunk.max == 19
    assert dists.queue_ns.max == 0


def test_length_verification_counts() -> None:
    records = [
        make_record(chunks=[(1 * MS, 8)], requested=8, server_tokens=8),
        make_record(chunks=[(1 * MS, 8)], requested=8),
        make_record(chunks=[(1 * MS, 5)], requested=8, server_tokens=5),
        make_record(
            chunks=[(1 * MS, 9)], requested=8, server_tokens=9, error=ErrorKind.LONG_OUTPUT
        ),
        make_record(chunks=[(1 * MS, 3)], requested=8, error=ErrorKind.TIMEOUT),
    ]
    records[2].verify_length()
    assert records[2].error_kind is ErrorKind.SHORT_OUTPUT
    check = check_lengths(records)
    assert (check.verified, check.mismatched, check.unverifiable) == (1, 2, 1)
    assert summarize(records, 0, S).output_length == check


def test_goodput_only_with_slos() -> None:
    assert summarize(run_records(), 0, 2 * S).goodput is None
    goodput = summarize(run_records(), 0, 2 * S, parse_slos("ttft:p50<450ms")).goodput
    assert goodput is not None
    assert (goodput.requests, goodput.good, goodput.good_in_window) == (5, 3, 2)


def test_json_round_trip() -> None:
    summary = summarize(run_records(), 0, 2 * S, parse_slos("ttft:p99<1s,itl:p95<50ms"))
    data = json.loads(json.dumps(summary.model_dump(mode="json")))
    assert data["failures"]["timeout"] == 1
    assert data["distributions"]["ttft_ns"]["p50"] == pytest.approx(200 * MS)
    assert data["goodput"]["slos"][0]["slo"] == "ttft:p99<1s"
    assert Summary.model_validate(data) == summary


def test_empty_window_is_rejected() -> None:
    with pytest.raises(ValueError, match="window"):
        summarize(run_records(), 5, 5)


def with_server_times(record: RequestRecord, queue_ms: int, ttft_ms: int) -> RequestRecord:
    arrival = SERVER_EPOCH + record.index * S  # each request on the server's clock, far away
    record.server_times = ServerTimes(
        arrival, arrival + queue_ms * MS, arrival + ttft_ms * MS, arrival + 2 * ttft_ms * MS
    )
    return record


def test_server_clock_figures_over_the_requests_that_reported_them() -> None:
    """Client TTFTs 10, 20, 30, 40 ms; the server reported for the first three (TTFT 4, 8, 12
    ms, queue 1, 2, 3 ms); the fourth did not, and a failed one that did is left out."""
    records = [make_record(index=i, chunks=((10 * MS * (i + 1), 1),)) for i in range(4)]
    for record in records[:3]:
        with_server_times(record, record.index + 1, 4 * (record.index + 1))
    records.append(with_server_times(make_record(index=4, error=ErrorKind.TIMEOUT), 1, 1))
    clock = summarize(records, 0, 2 * S).server_clock
    assert clock is not None
    assert clock.records == 3
    assert (clock.queue_ns.count, clock.queue_ns.mean) == (3, 2 * MS)
    assert (clock.ttft_ns.p50, clock.ttft_ns.max) == (8 * MS, 12 * MS)
    split = clock.client_minus_server_ttft_ns  # 10 - 4, 20 - 8, 30 - 12
    assert (split.count, split.min, split.mean, split.max) == (3, 6 * MS, 12 * MS, 18 * MS)
    assert split.p99 == pytest.approx(17.88 * MS)


def test_no_server_clock_when_no_request_reported_it() -> None:
    summary = summarize(run_records(), 0, 2 * S)
    assert summary.server_clock is None
    assert server_clock([], []) is None
    assert Summary.model_validate(summary.model_dump(mode="json")) == summary


def test_the_server_clock_reads_back_from_json() -> None:
    records = [with_server_times(make_record(index=i), 1, 4) for i in range(3)]
    summary = summarize(records, 0, 2 * S)
    data = json.loads(json.dumps(summary.model_dump(mode="json")))
    assert data["server_clock"]["ttft_ns"]["mean"] == 4 * MS
    assert Summary.model_validate(data) == summary
