"""Per-request metrics: pure functions of one `RequestRecord`, in nanoseconds (see docs/metrics.md).

Every time here is a difference of two `perf_counter_ns` values of the same record. A failed
record's timings describe a failure, not a latency: `request_metrics` returns None for it, and
the summary and goodput count it only by its error kind (and as a miss).

Definitions, with OSL = `record.output_tokens` (the server's count when it gave one):

- TTFT = first chunk - sent; from the schedule: first chunk - scheduled (open loop: the latency
  from the intended send time, so a slow client or a full concurrency cap cannot hide delay).
- E2E = end - sent; from the schedule: end - scheduled. Client queue time = sent - scheduled.
- TPOT = (E2E - TTFT) / (OSL - 1) for OSL > 1: the decode time per token after the first.
- ITL, per token: a chunk of k tokens arriving a gap g after the previous token-carrying chunk
  gives k values g / k; the first chunk's k tokens give k - 1 values of 0 (tokens 2..k came
  with the first one, whose own wait is TTFT). So a request has (sum of chunk tokens) - 1 ITL
  values, and they add up to (last token chunk - first token chunk).
- Chunk gaps: the raw gaps between consecutive chunks, one per chunk after the first.
- On the server's own clock (`record.server_times`, when its API reports them): server queue =
  first scheduled - arrival; server TTFT = first token - arrival. Client - server TTFT = TTFT -
  server TTFT: two durations, each measured on one clock, so the clocks need not agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crossfade.bench.protocol import RequestRecord

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def queue_time_ns(record: RequestRecord) -> int:
    """Time the request waited in the client between its intended and its actual send."""
    return record.sent_ns - record.scheduled_ns


def ttft_ns(record: RequestRecord) -> int | None:
    """First output chunk - sent; None when no chunk arrived."""
    return record.chunk_ns[0] - record.sent_ns if record.chunk_ns else None


def ttft_from_scheduled_ns(record: RequestRecord) -> int | None:
    """First output chunk - intended send time; None when no chunk arrived."""
    return record.chunk_ns[0] - record.scheduled_ns if record.chunk_ns else None


def e2e_ns(record: RequestRecord) -> int:
    return record.end_ns - record.sent_ns


def e2e_from_scheduled_ns(record: RequestRecord) -> int:
    return record.end_ns - record.scheduled_ns


def server_queue_ns(record: RequestRecord) -> int | None:
    """First scheduled - arrival on the server's clock; None without both stamps (0: not
    reported)."""
    times = record.server_times
    if times is None or not (times.arrival_ns and times.first_scheduled_ns):
        return None
    return times.first_scheduled_ns - times.arrival_ns


def server_ttft_ns(record: RequestRecord) -> int | None:
    """First token - arrival on the server's clock; None without both stamps."""
    times = record.server_times
    if times is None or not (times.arrival_ns and times.first_token_ns):
        return None
    return times.first_token_ns - times.arrival_ns


def client_minus_server_ttft_ns(record: RequestRecord) -> int | None:
    """The client's TTFT minus the server's: the way there and back (network, the HTTP front,
    the client's own reading); None when either is missing."""
    client, server = ttft_ns(record), server_ttft_ns(record)
    return None if client is None or server is None else client - server


def decode_ns(record: RequestRecord) -> int | None:
    """E2E - TTFT, i.e. end - first chunk: the time spent on tokens 2..OSL."""
    return record.end_ns - record.chunk_ns[0] if record.chunk_ns else None


def tpot_ns(record: RequestRecord) -> float | None:
    """(E2E - TTFT) / (OSL - 1); None for OSL <= 1 (no token after the first) or no chunk."""
    decode, osl = decode_ns(record), record.output_tokens
    if decode is None or osl <= 1:
        return None
    return decode / (osl - 1)


def output_tokens_per_s(record: RequestRecord) -> float | None:
    """(OSL - 1) / (E2E - TTFT) in tokens per second, the rate one user sees after the first
    token; None when TPOT is undefined or the decode took no measurable time."""
    decode, osl = decode_ns(record), record.output_tokens
    if decode is None or osl <= 1 or decode <= 0:
        return None
    return (osl - 1) * NS_PER_S / decode


def itl_ns(record: RequestRecord) -> FloatArray:
    """Per-token inter-token latencies (see the module docstring); empty for fewer than 2 tokens.

    Chunks whose token count is 0 (text the server counted with a later chunk) carry no token, so
    the gap runs on to the next chunk that does.
    """
    return _itl(_chunk_times(record), np.asarray(record.chunk_tokens, dtype=np.int64))


def chunk_gaps_ns(record: RequestRecord) -> IntArray:
    """Gaps between consecutive chunks, whatever they carried: the per-chunk distribution other
    tools call ITL. Compare with `itl_ns` to see how much a server batches tokens per chunk."""
    return np.diff(_chunk_times(record))


def _chunk_times(record: RequestRecord) -> IntArray:
    return np.asarray(record.chunk_ns, dtype=np.int64)


def _itl(times: IntArray, tokens: IntArray) -> FloatArray:
    carrying = tokens > 0
    times, tokens = times[carrying], tokens[carrying]
    if tokens.size == 0:
        return np.zeros(0, dtype=np.float64)
    with_first = np.zeros(int(tokens[0]) - 1, dtype=np.float64)
    later = tokens[1:]
    per_token = np.repeat(np.diff(times) / later, later)
    return np.concatenate([with_first, per_token])


@dataclass(frozen=True, eq=False)
class RequestMetrics:
    """All metrics of one successful request; times in ns, None where undefined."""

    index: int
    output_tokens: int
    queue_ns: int
    ttft_ns: int | None
    ttft_from_scheduled_ns: int | None
    e2e_ns: int
    e2e_from_scheduled_ns: int
    tpot_ns: float | None
    output_tokens_per_s: float | None
    itl_ns: FloatArray
    chunk_gaps_ns: IntArray
    server_queue_ns: int | None = None  # on the server's clock, when it reported its times
    server_ttft_ns: int | None = None
    client_minus_server_ttft_ns: int | None = None


def request_metrics(record: RequestRecord) -> RequestMetrics | None:
    """The metrics of a successful record; None for a failed one, which has no latencies."""
    if not record.ok:
        return None
    times = _chunk_times(record)  # converted once; long streams make this the costly part
    return RequestMetrics(
        index=record.index,
        output_tokens=record.output_tokens,
        queue_ns=queue_time_ns(record),
        ttft_ns=ttft_ns(record),
        ttft_from_scheduled_ns=ttft_from_scheduled_ns(record),
        e2e_ns=e2e_ns(record),
        e2e_from_scheduled_ns=e2e_from_scheduled_ns(record),
        tpot_ns=tpot_ns(record),
        output_tokens_per_s=output_tokens_per_s(record),
        itl_ns=_itl(times, np.asarray(record.chunk_tokens, dtype=np.int64)),
        chunk_gaps_ns=np.diff(times),
        server_queue_ns=server_queue_ns(record),
        server_ttft_ns=server_ttft_ns(record),
        client_minus_server_ttft_ns=client_minus_server_ttft_ns(record),
    )


def percentiles(values: npt.ArrayLike, qs: Sequence[float]) -> list[float]:
    """Exact percentiles by linear interpolation between closest ranks (Hyndman and Fan type 7,
    numpy's default "linear" method): for n sorted values v[0..n-1], the q-th percentile sits at
    rank h = (n - 1) * q / 100 and is v[floor h] + (h - floor h) * (v[floor h + 1] - v[floor h]).

    Infinite values (failures in SLO checks) are allowed: a percentile that leans on one with
    any weight is infinite. Raises ValueError for no values or q outside [0, 100].
    """
    ordered = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if ordered.size == 0:
        raise ValueError("percentile of no values")
    result = []
    for q in qs:
        if not 0 <= q <= 100:
            raise ValueError(f"percentile {q} is outside [0, 100]")
        rank = (ordered.size - 1) * q / 100
        low = math.floor(rank)
        fraction = rank - low
        below = float(ordered[low])
        if fraction == 0:
            result.append(below)
            continue
        above = float(ordered[low + 1])
        # Written out rather than np.percentile, whose interpolation gives NaN between two infs.
        result.append(math.inf if math.isinf(above) else below + fraction * (above - below))
    return result


def percentile(values: npt.ArrayLike, q: float) -> float:
    """One percentile; see `percentiles` for the method."""
    return percentiles(values, [q])[0]
