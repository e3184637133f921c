"""SLO parsing, per-request goodness, goodput over the window and run-level attainment."""

from __future__ import annotations

import math

import pytest

from crossfade.bench.metrics import request_metrics
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.slo import (
    SLO_FORM,
    SloMetric,
    evaluate_goodput,
    is_good,
    parse_slo,
    parse_slos,
    run_values,
)
from tests.bench.test_metrics import MS, make_record

S = 1_000_000_000


def test_parse_the_documented_example() -> None:
    slos = parse_slos("ttft:p99<500ms,itl:p95<50ms,e2e:p50<2s,tpot:p90<20ms")
    assert [(s.metric, s.percentile, s.threshold_ns) for s in slos] == [
        (SloMetric.TTFT, 99, 500 * MS),
        (SloMetric.ITL, 95, 50 * MS),
        (SloMetric.E2E, 50, 2 * S),
        (SloMetric.TPOT, 90, 20 * MS),
    ]
    assert [str(s) for s in slos] == [
        "ttft:p99<500ms",
        "itl:p95<50ms",
        "e2e:p50<2s",
        "tpot:p90<20ms",
    ]


@pytest.mark.parametrize(
    ("text", "threshold_ns", "pct"),
    [
        ("ttft:p99.9<0.1s", 100_000_000, 99.9),
        ("itl:p50<250us", 250_000, 50),
        ("e2e:p90<1500ns", 1_500, 90),
        (" TTFT : p99 < 1.5 ms ", 1_500_000, 99),
    ],
)
def test_parse_units_decimals_and_spacing(text: str, threshold_ns: float, pct: float) -> None:
    slo = parse_slo(text)
    assert slo.threshold_ns == threshold_ns
    assert slo.percentile == pct
    assert " " not in slo.text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no SLO given"),
        ("ttfb:p99<5ms", "unknown metric 'ttfb'"),
        ("ttft p99<5ms", "no ':'"),
        ("ttft:p99>5ms", "no '<'"),
        ("ttft:99<5ms", "percentile '99' is not p followed by a number"),
        ("ttft:p0<5ms", "outside \\(0, 100\\]"),
        ("ttft:p100.5<5ms", "outside \\(0, 100\\]"),
        ("ttft:p99<5", "threshold '5' is not a number with a unit"),
        ("ttft:p99<-5ms", "threshold '-5ms' is not a number with a unit"),
        ("ttft:p99<5min", "unknown unit 'min'"),
        ("ttft:p99<0ms", "above 0"),
        ("ttft:p99<5ms,,e2e:p50<1s", "empty SLO"),
        ("ttft:p99<5ms,ttft:p99<9ms", "ttft:p99 is given twice"),
    ],
)
def test_bad_slo_names_the_part_and_the_form(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        parse_slos(text)
    message = str(caught.value)
    assert SLO_FORM in message
    bad_part = text.split(",")[0].strip()
    if bad_part and "empty" not in reason and "twice" not in reason:
        assert repr(bad_part) in message


def test_threshold_is_strict() -> None:
    record = make_record(sent=0, chunks=[(10 * MS, 1)])
    assert is_good(record, parse_slos("ttft:p50<10.001ms"))
    assert not is_good(record, parse_slos("ttft:p50<10ms"))


def test_every_slo_must_hold() -> None:
    record = make_record(sent=0, chunks=[(10 * MS, 1), (40 * MS, 3)], end=50 * MS)
    assert is_good(record, parse_slos("ttft:p99<20ms,e2e:p99<60ms,tpot:p99<14ms"))
    assert not is_good(record, parse_slos("ttft:p99<20ms,e2e:p99<60ms,tpot:p99<13ms"))
    assert not is_good(record, parse_slos("ttft:p99<20ms,e2e:p99<50ms"))


def test_itl_slo_uses_the_requests_own_percentile() -> None:
    # Nine 10 ms gaps and one 100 ms gap: p50 is 10 ms, p99 is 10 + 0.91 * 90 = 91.9 ms.
    times = [10 * MS * (i + 1) for i in range(10)] + [200 * MS]
    record = make_record(sent=0, chunks=[(at, 1) for at in times])
    assert is_good(record, parse_slos("itl:p50<11ms"))
    assert is_good(record, parse_slos("itl:p99<92ms"))
    assert not is_good(record, parse_slos("itl:p99<91.8ms"))


def test_failed_request_is_never_good() -> None:
    record = make_record(sent=0, chunks=[(1 * MS, 1)], error=ErrorKind.STREAM_ERROR)
    assert not is_good(record, parse_slos("e2e:p99<10s"))


def test_metrics_a_request_lacks_do_not_count_against_it() -> None:
    single = make_record(sent=0, chunks=[(10 * MS, 1)])
    assert is_good(single, parse_slos("tpot:p90<1ns,itl:p90<1ns"))
    silent = make_record(sent=0, chunks=[], end=5 * MS, requested=0)
    assert is_good(silent, parse_slos("ttft:p90<1ns,e2e:p90<6ms"))


def test_latency_basis_scheduled_charges_the_client_delay() -> None:
    record = make_record(scheduled=0, sent=20 * MS, chunks=[(30 * MS, 1)])
    for slos in (parse_slos("ttft:p50<25ms"), parse_slos("e2e:p50<25ms")):
        assert is_good(record, slos, basis="sent")
        assert not is_good(record, slos, basis="scheduled")


def goodput_records() -> list[RequestRecord]:
    return [
        make_record(index=0, sent=0, chunks=[(10 * MS, 1), (500 * MS, 1)]),  # good, in window
        make_record(index=1, sent=0, chunks=[(20 * MS, 1), (2500 * MS, 1)]),  # good, ends late
        make_record(index=2, sent=0, chunks=[(300 * MS, 1)]),  # too slow
        make_record(index=3, sent=0, chunks=[], end=1 * S, error=ErrorKind.TIMEOUT),
    ]


def test_goodput_counts_rate_in_window_and_fraction_over_all() -> None:
    goodput = evaluate_goodput(goodput_records(), parse_slos("ttft:p50<100ms"), 0, 2 * S)
    assert (goodput.requests, goodput.good, goodput.good_in_window) == (4, 2, 1)
    assert goodput.good_per_s == pytest.approx(0.5)
    assert goodput.good_fraction == pytest.approx(0.5)
    assert goodput.basis == "sent"


def test_run_attainment_counts_failures_as_infinite() -> None:
    # TTFTs 10, 20, 300 ms and one failure: p25 = 17.5 ms, p50 = 160 ms, p99 infinite.
    slos = parse_slos("ttft:p25<100ms,ttft:p50<100ms,ttft:p99<1s")
    results = evaluate_goodput(goodput_records(), slos, 0, 2 * S).slos
    assert [r.met for r in results] == [True, False, False]
    assert results[0].observed_ns == pytest.approx(17.5 * MS)
    assert results[1].observed_ns == pytest.approx(160 * MS)
    assert results[2].observed_ns is None
    assert [r.slo for r in results] == ["ttft:p25<100ms", "ttft:p50<100ms", "ttft:p99<1s"]


@pytest.mark.parametrize(("requested", "met"), [(11, False), (1, True)])
def test_failed_request_weighs_as_many_itl_gaps_as_it_asked_for(requested: int, met: bool) -> None:
    # Nine 5 ms gaps; the failure adds max(1, requested - 1) infinite ones.
    ok = make_record(sent=0, chunks=[(5 * MS * (i + 1), 1) for i in range(10)])
    failed = make_record(sent=0, chunks=[], requested=requested, error=ErrorKind.CONNECT)
    (result,) = evaluate_goodput([ok, failed], parse_slos("itl:p50<6ms"), 0, S).slos
    assert result.met is met
    assert result.observed_ns == (5 * MS if met else None)


def test_run_values_leave_out_requests_without_the_metric() -> None:
    records = [
        make_record(sent=0, chunks=[(10 * MS, 1)]),
        make_record(sent=0, chunks=[(10 * MS, 1), (20 * MS, 1)]),
        make_record(sent=0, chunks=[], error=ErrorKind.OTHER),
    ]
    measured = [m for m in map(request_metrics, records) if m is not None]
    (tpot,) = parse_slos("tpot:p50<1s")
    assert run_values(records, measured, tpot).tolist() == [10 * MS, math.inf]


def test_no_requests_meets_nothing() -> None:
    goodput = evaluate_goodput([], parse_slos("e2e:p50<1s"), 0, S)
    assert goodput.good_fraction is None
    assert goodput.good_per_s == 0
    assert goodput.slos[0].met is False


def test_precomputed_metrics_give_the_same_goodput() -> None:
    records = goodput_records()
    slos = parse_slos("ttft:p50<100ms,itl:p50<1s")
    per_record = [request_metrics(record) for record in records]
    assert per_record[3] is None
    given = evaluate_goodput(records, slos, 0, 2 * S, per_record=per_record)
    assert given == evaluate_goodput(records, slos, 0, 2 * S)
    with pytest.raises(ValueError, match="one entry per record"):
        evaluate_goodput(records, slos, 0, 2 * S, per_record=per_record[:2])
