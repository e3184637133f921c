"""Per-request metrics on hand-built records whose values can be worked out on paper."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from crossfade.bench.dialects.base import ServerTimes
from crossfade.bench.metrics import (
    chunk_gaps_ns,
    client_minus_server_ttft_ns,
    e2e_from_scheduled_ns,
    e2e_ns,
    itl_ns,
    output_tokens_per_s,
    percentile,
    percentiles,
    queue_time_ns,
    request_metrics,
    server_queue_ns,
    server_ttft_ns,
    tpot_ns,
    ttft_from_scheduled_ns,
    ttft_ns,
)
from crossfade.bench.protocol import ErrorKind, RequestRecord

MS = 1_000_000


def make_record(
    sent: int = 0,
    chunks: Sequence[tuple[int, int]] = ((10 * MS, 1), (15 * MS, 3)),
    end: int | None = None,
    scheduled: int | None = None,
    requested: int | None = None,
    server_tokens: int | None = None,
    error: ErrorKind | None = None,
    index: int = 0,
) -> RequestRecord:
    """A record from (arrival ns, tokens) chunks; `end` defaults to the last chunk (or `sent`),
    `scheduled` to `sent`, `requested` to the tokens the chunks carry."""
    carried = sum(tokens for _, tokens in chunks)
    return RequestRecord(
        index=index,
        prompt_tokens=100,
        requested_output_tokens=carried if requested is None else requested,
        scheduled_ns=sent if scheduled is None else scheduled,
        sent_ns=sent,
        first_byte_ns=chunks[0][0] if chunks else 0,
        chunk_ns=[at for at, _ in chunks],
        chunk_tokens=[tokens for _, tokens in chunks],
        end_ns=end if end is not None else (chunks[-1][0] if chunks else sent),
        server_output_tokens=server_tokens,
        error_kind=error,
        error=None if error is None else f"planted {error}",
    )


def test_latencies_from_sent_and_from_scheduled() -> None:
    record = make_record(
        scheduled=1 * MS, sent=3 * MS, chunks=[(13 * MS, 1), (18 * MS, 3)], end=20 * MS
    )
    assert queue_time_ns(record) == 2 * MS
    assert ttft_ns(record) == 10 * MS
    assert ttft_from_scheduled_ns(record) == 12 * MS
    assert e2e_ns(record) == 17 * MS
    assert e2e_from_scheduled_ns(record) == 19 * MS


def test_open_loop_lag_shows_only_in_scheduled_latencies() -> None:
    # The client sent 40 ms late: a coordinated-omission-free TTFT must include that delay.
    record = make_record(scheduled=0, sent=40 * MS, chunks=[(50 * MS, 1)], end=50 * MS)
    assert ttft_ns(record) == 10 * MS
    assert ttft_from_scheduled_ns(record) == 50 * MS
    assert e2e_from_scheduled_ns(record) - e2e_ns(record) == queue_time_ns(record) == 40 * MS


def test_tpot_excludes_ttft() -> None:
    # TTFT 100 ms, then nine single-token chunks 10 ms apart: OSL 10, decode 90 ms.
    chunks = [(100 * MS + i * 10 * MS, 1) for i in range(10)]
    record = make_record(chunks=chunks)
    assert record.output_tokens == 10
    assert tpot_ns(record) == pytest.approx(10 * MS)
    assert e2e_ns(record) / record.output_tokens == pytest.approx(19 * MS)  # what TPOT is not


def test_tpot_counts_to_the_end_and_divides_by_osl_minus_one() -> None:
    # The final marker came 4 ms after the last chunk; E2E - TTFT = 24 ms over 4 later tokens.
    record = make_record(chunks=[(10 * MS, 1), (30 * MS, 4)], end=34 * MS)
    assert tpot_ns(record) == pytest.approx(6 * MS)
    assert output_tokens_per_s(record) == pytest.approx(4 / 0.024)


def test_tpot_uses_the_servers_token_count() -> None:
    # The chunks carry 4 tokens but the server counted 5: OSL is 5, so (E2E - TTFT) / 4.
    record = make_record(chunks=[(10 * MS, 1), (18 * MS, 3)], server_tokens=5)
    assert record.output_tokens == 5
    assert tpot_ns(record) == pytest.approx(2 * MS)


def test_output_tokens_per_s_is_osl_minus_one_over_decode_time() -> None:
    record = make_record(chunks=[(20 * MS, 1), (120 * MS, 10)])
    assert output_tokens_per_s(record) == pytest.approx(100.0)
    assert output_tokens_per_s(record) == pytest.approx(1e9 / (tpot_ns(record) or math.nan))


def test_multi_token_chunk_spreads_its_gap_over_its_tokens() -> None:
    record = make_record(chunks=[(10 * MS, 1), (16 * MS, 3)])
    assert itl_ns(record).tolist() == [2 * MS, 2 * MS, 2 * MS]
    assert chunk_gaps_ns(record).tolist() == [6 * MS]


def test_first_chunk_extra_tokens_give_zero_gaps() -> None:
    record = make_record(chunks=[(10 * MS, 3), (14 * MS, 1), (20 * MS, 2)])
    assert itl_ns(record).tolist() == [0, 0, 4 * MS, 3 * MS, 3 * MS]
    assert chunk_gaps_ns(record).tolist() == [4 * MS, 6 * MS]


def test_itl_count_and_sum_match_the_tokens_and_the_decode_span() -> None:
    rng = np.random.default_rng(7)
    times = np.cumsum(rng.integers(1, 5 * MS, size=50)).tolist()
    tokens = rng.integers(1, 6, size=50).tolist()
    record = make_record(chunks=list(zip(times, tokens, strict=True)))
    values = itl_ns(record)
    assert values.size == sum(tokens) - 1
    assert values.sum() == pytest.approx(times[-1] - times[0])
    assert chunk_gaps_ns(record).size == 49


def test_zero_token_chunk_lets_the_gap_run_on() -> None:
    # Tokens arrive at 10, 16, 16 ms; the text-only chunk at 12 ms holds no token.
    record = make_record(chunks=[(10 * MS, 1), (12 * MS, 0), (16 * MS, 2)])
    assert itl_ns(record).tolist() == [3 * MS, 3 * MS]
    assert chunk_gaps_ns(record).tolist() == [2 * MS, 4 * MS]


def test_single_token_output_has_no_decode_metrics() -> None:
    record = make_record(chunks=[(10 * MS, 1)], end=11 * MS)
    assert ttft_ns(record) == 10 * MS
    assert tpot_ns(record) is None
    assert output_tokens_per_s(record) is None
    assert itl_ns(record).size == 0
    assert chunk_gaps_ns(record).size == 0


def test_no_output_has_no_ttft() -> None:
    record = make_record(chunks=[], end=5 * MS, requested=0)
    assert record.output_tokens == 0
    assert ttft_ns(record) is None
    assert ttft_from_scheduled_ns(record) is None
    assert tpot_ns(record) is None
    assert e2e_ns(record) == 5 * MS


def test_whole_response_in_one_chunk_has_zero_tpot_and_no_rate() -> None:
    # Non-streaming: every token arrives at once, so decode time is 0 ns.
    record = make_record(chunks=[(50 * MS, 4)])
    assert tpot_ns(record) == 0
    assert output_tokens_per_s(record) is None
    assert itl_ns(record).tolist() == [0, 0, 0]


def test_request_metrics_of_a_successful_record() -> None:
    record = make_record(index=7, scheduled=0, sent=1 * MS, chunks=[(11 * MS, 1), (17 * MS, 3)])
    metrics = request_metrics(record)
    assert metrics is not None
    assert (metrics.index, metrics.output_tokens, metrics.queue_ns) == (7, 4, 1 * MS)
    assert (metrics.ttft_ns, metrics.ttft_from_scheduled_ns) == (10 * MS, 11 * MS)
    assert (metrics.e2e_ns, metrics.e2e_from_scheduled_ns) == (16 * MS, 17 * MS)
    assert metrics.tpot_ns == pytest.approx(2 * MS)
    assert metrics.itl_ns.tolist() == [2 * MS] * 3
    assert metrics.chunk_gaps_ns.tolist() == [6 * MS]


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_failed_record_has_no_metrics(kind: ErrorKind) -> None:
    assert request_metrics(make_record(error=kind)) is None


def test_percentiles_of_one_to_hundred() -> None:
    values = list(range(1, 101))
    got = percentiles(values, [0, 25, 50, 90, 99, 100])
    assert got == pytest.approx([1, 25.75, 50.5, 90.1, 99.01, 100], rel=1e-12)


def test_percentiles_of_four_values_interpolate_between_ranks() -> None:
    # Ranks sit at 3q/100: p50 halfway between 2 and 3, p90 at 0.7 of the way from 3 to 4.
    got = percentiles([4, 1, 3, 2], [25, 50, 90, 99, 99.9])
    assert got == pytest.approx([1.75, 2.5, 3.7, 3.97, 3.997], rel=1e-12)


def test_percentiles_agree_with_numpy_linear() -> None:
    values = np.random.default_rng(3).exponential(5 * MS, size=1001)
    qs = [0, 1, 37.5, 50, 90, 95, 99, 99.9, 100]
    expected = np.percentile(values, qs, method="linear")
    assert percentiles(values, qs) == pytest.approx(expected.tolist(), rel=1e-12)


def test_percentile_leaning_on_an_infinity_is_infinite() -> None:
    values = [1.0, 2.0, math.inf, math.inf]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 30) == pytest.approx(1.9)
    assert percentile(values, 50) == math.inf  # halfway between 2 and the first infinity
    assert percentile(values, 100) == math.inf


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], -1), ([1.0], 100.5)])
def test_percentile_rejects_no_values_and_bad_q(values: list[float], q: float) -> None:
    with pytest.raises(ValueError, match="percentile"):
        percentile(values, q)


# The server's stamps are on its own clock, far from the client's: only their differences count.
SERVER_EPOCH = 9_000_000 * MS


def test_server_clock_figures_are_differences_within_each_clock() -> None:
    """Queue 3 ms and TTFT 7 ms on the server's clock; the client saw TTFT 10 ms, so 3 ms of
    it was the way there and back."""
    record = make_record(sent=1 * MS, chunks=((11 * MS, 1), (15 * MS, 3)))
    record.server_times = ServerTimes(
        arrival_ns=SERVER_EPOCH,
        first_scheduled_ns=SERVER_EPOCH + 3 * MS,
        first_token_ns=SERVER_EPOCH + 7 * MS,
        last_token_ns=SERVER_EPOCH + 11 * MS,
    )
    assert server_queue_ns(record) == 3 * MS
    assert server_ttft_ns(record) == 7 * MS
    assert client_minus_server_ttft_ns(record) == 10 * MS - 7 * MS
    measured = request_metrics(record)
    assert measured is not None
    assert (measured.server_queue_ns, measured.server_ttft_ns) == (3 * MS, 7 * MS)
    assert measured.client_minus_server_ttft_ns == 3 * MS


def test_no_server_figure_without_the_stamps_it_needs() -> None:
    """No times at all; a stamp of 0 (not reported); no chunk, so no client TTFT."""
    record = make_record()
    assert (server_queue_ns(record), server_ttft_ns(record)) == (None, None)
    assert client_minus_server_ttft_ns(record) is None
    record.server_times = ServerTimes(SERVER_EPOCH, 0, SERVER_EPOCH + 5 * MS, 0)
    assert server_queue_ns(record) is None
    assert server_ttft_ns(record) == 5 * MS
    silent = make_record(chunks=())
    silent.server_times = record.server_times
    assert server_ttft_ns(silent) == 5 * MS
    assert client_minus_server_ttft_ns(silent) is None
