"""A run's summary: distributions, throughput, failures, length checks and goodput.

`summarize` takes the records of the measurement (the caller has already dropped warm-up ones,
for example with `in_window`) and the window [start_ns, end_ns]. Throughputs count the completed
requests whose end falls inside the window, divided by its length; the window must be the same
one the records were chosen by, or the rates mean nothing. Failed records appear only in
`failures` (and as misses in goodput), never in a latency distribution. See docs/metrics.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from crossfade.bench.metrics import NS_PER_S, RequestMetrics, percentiles, request_metrics
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.slo import Goodput, LatencyBasis, Slo, evaluate_goodput

# The percentiles every distribution reports, and the field each one goes to.
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p99_9": 99.9}

# A summary keeps this many distinct messages of each error kind (the first ones seen).
MESSAGES_PER_ERROR_KIND = 3

# A run in which no request succeeded, or more than this fraction failed, says nothing about its
# target: `crossfade bench` exits non-zero and compare draws no verdict from it.
FAILED_RUN_FRACTION = 0.5


class Distribution(BaseModel):
    """Statistics of one metric's values; everything but `count` is None when there are none.

    `std` is the population standard deviation (divided by n); percentiles are exact (see
    `metrics.percentiles`: linear interpolation between closest ranks, numpy's "linear").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p99_9: float | None = None


def describe(values: npt.ArrayLike) -> Distribution:
    """Count, mean, std, min, max and the `PERCENTILES` of finite values."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        return Distribution(count=0)
    points = dict(zip(PERCENTILES, percentiles(array, list(PERCENTILES.values())), strict=True))
    return Distribution(
        count=int(array.size),
        mean=float(array.mean()),
        std=float(array.std()),
        min=float(array.min()),
        max=float(array.max()),
        **points,
    )


class Distributions(BaseModel):
    """Per-metric distributions over the successful requests; times in ns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ttft_ns: Distribution
    ttft_from_scheduled_ns: Distribution
    e2e_ns: Distribution
    e2e_from_scheduled_ns: Distribution
    queue_ns: Distribution  # client queue time: sent - scheduled
    tpot_ns: Distribution
    itl_ns: Distribution  # pooled per-token values of every request
    chunk_gap_ns: Distribution  # pooled per-chunk gaps
    output_tokens_per_s: Distribution  # one value per request: (OSL - 1) / (E2E - TTFT)
    output_tokens: Distribution  # OSL per request
    tokens_per_chunk: Distribution


class LengthCheck(BaseModel):
    """Output-length verification of the responses that came back whole: successful records and
    those failed only by their length (short_output / long_output). A length is known when the
    server counted it, or crossfade counted the text it received (`bench.lengths`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verified: int  # the length is exactly the requested one
    mismatched: int  # another length
    unverifiable: int  # nobody counted it
    # The requests asked for exact lengths; False: the target cannot force them, the requested
    # length was a cap, and a mismatch is a length difference, not a failure.
    forced: bool
    counted: int  # of the known lengths, those crossfade counted (the server gave none)
    requested_mean: float | None  # over the responses of known length (None: none)
    received_mean: float | None

    @property
    def difference(self) -> float | None:
        """(received - requested) / requested mean, over the responses of known length."""
        if self.requested_mean is None or self.received_mean is None:
            return None
        return (self.received_mean - self.requested_mean) / self.requested_mean


class ErrorGroup(BaseModel):
    """The failed requests of one kind: how many, and the first distinct messages, in the order
    they were first seen (what the server or the client said, truncated by the record)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ErrorKind
    count: int
    messages: list[str]


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_start_ns: int
    window_end_ns: int
    window_s: float
    requests: int  # every record given, failures included
    completed: int  # successful records
    failed: int
    completed_in_window: int  # successful records whose end_ns is inside the window
    request_throughput_per_s: float  # completed_in_window / window_s
    output_token_throughput_per_s: float  # their output tokens / window_s
    failures: dict[ErrorKind, int]  # every kind, zero included
    # The kinds that occurred, most frequent first, with their first messages (a result of
    # schema 1 saved before they were kept has the counts alone: see `results`).
    errors: list[ErrorGroup]
    output_length: LengthCheck
    distributions: Distributions
    goodput: Goodput | None = None

    @property
    def target_failed(self) -> bool:
        """True when the run says nothing about its target (see `FAILED_RUN_FRACTION`)."""
        return self.completed == 0 or self.failed > FAILED_RUN_FRACTION * self.requests


def in_window(records: Iterable[RequestRecord], start_ns: int, end_ns: int) -> list[RequestRecord]:
    """The records scheduled inside [start_ns, end_ns] (both ends included): drops warm-up
    requests, scheduled before the window opened, and any scheduled after it closed."""
    return [record for record in records if start_ns <= record.scheduled_ns <= end_ns]


def failures_by_kind(records: Iterable[RequestRecord]) -> dict[ErrorKind, int]:
    counts = Counter(record.error_kind for record in records if record.error_kind is not None)
    return {kind: counts.get(kind, 0) for kind in ErrorKind}


class _ErrorTally:
    """Counts per error kind and the first distinct messages of each, in the order seen."""

    def __init__(self) -> None:
        self.counts: dict[ErrorKind, int] = {}
        self.messages: dict[ErrorKind, list[str]] = {}

    def add(self, kind: ErrorKind, count: int, messages: Iterable[str]) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + count
        seen = self.messages.setdefault(kind, [])
        for text in messages:
            if len(seen) < MESSAGES_PER_ERROR_KIND and text not in seen:
                seen.append(text)

    def groups(self) -> list[ErrorGroup]:
        order = sorted(self.counts, key=lambda kind: -self.counts[kind])  # stable: first seen
        return [ErrorGroup(kind=k, count=self.counts[k], messages=self.messages[k]) for k in order]


def error_groups(records: Iterable[RequestRecord]) -> list[ErrorGroup]:
    """The failures grouped by kind, most frequent first (ties: the kind seen first)."""
    tally = _ErrorTally()
    for record in records:
        if record.error_kind is not None:
            tally.add(record.error_kind, 1, (record.error or record.error_kind.value,))
    return tally.groups()


def merge_error_groups(runs: Iterable[Sequence[ErrorGroup]]) -> list[ErrorGroup]:
    """Several runs' error groups as one list, as `error_groups` would have made it from all
    their records (messages: the first distinct ones in the order the runs are given)."""
    tally = _ErrorTally()
    for group in (group for run in runs for group in run):
        tally.add(group.kind, group.count, group.messages)
    return tally.groups()


def check_lengths(records: Iterable[RequestRecord], *, forced: bool = True) -> LengthCheck:
    """Count the whole responses by how their length compares with the request (see
    `LengthCheck`); compares the counts themselves, so it holds even if a client forgot
    `verify_length`. `forced`: the requests asked for exact lengths."""
    length_kinds = (ErrorKind.SHORT_OUTPUT, ErrorKind.LONG_OUTPUT)
    verified = mismatched = unverifiable = counted = 0
    requested: list[int] = []
    received: list[int] = []
    for record in records:
        if not (record.ok or record.error_kind in length_kinds):
            continue  # a broken response has no length worth checking
        length = record.known_output_tokens
        if length is None:
            unverifiable += 1
            continue
        if length == record.requested_output_tokens:
            verified += 1
        else:
            mismatched += 1
        counted += record.server_output_tokens is None
        requested.append(record.requested_output_tokens)
        received.append(length)
    return LengthCheck(
        verified=verified,
        mismatched=mismatched,
        unverifiable=unverifiable,
        forced=forced,
        counted=counted,
        requested_mean=float(np.mean(requested)) if requested else None,
        received_mean=float(np.mean(received)) if received else None,
    )


def _present(values: Iterable[float | None]) -> list[float]:
    return [value for value in values if value is not None]


def _pooled(arrays: Sequence[npt.NDArray[Any]]) -> npt.NDArray[np.float64]:
    if not arrays:
        return np.zeros(0, dtype=np.float64)
    return np.concatenate([array.astype(np.float64) for array in arrays])


def distributions(
    measured: Sequence[RequestMetrics], completed: Sequence[RequestRecord]
) -> Distributions:
    """The distributions of successful requests' metrics (`completed` are their records)."""
    return Distributions(
        ttft_ns=describe(_present(m.ttft_ns for m in measured)),
        ttft_from_scheduled_ns=describe(_present(m.ttft_from_scheduled_ns for m in measured)),
        e2e_ns=describe([m.e2e_ns for m in measured]),
        e2e_from_scheduled_ns=describe([m.e2e_from_scheduled_ns for m in measured]),
        queue_ns=describe([m.queue_ns for m in measured]),
        tpot_ns=describe(_present(m.tpot_ns for m in measured)),
        itl_ns=describe(_pooled([m.itl_ns for m in measured])),
        chunk_gap_ns=describe(_pooled([m.chunk_gaps_ns for m in measured])),
        output_tokens_per_s=describe(_present(m.output_tokens_per_s for m in measured)),
        output_tokens=describe([m.output_tokens for m in measured]),
        tokens_per_chunk=describe([n for record in completed for n in record.chunk_tokens]),
    )


def summarize(
    records: Sequence[RequestRecord],
    start_ns: int,
    end_ns: int,
    slos: Sequence[Slo] = (),
    basis: LatencyBasis = "sent",
    *,
    forced_length: bool = True,
) -> Summary:
    """Summarize the measured `records` over the window [start_ns, end_ns]; goodput only when
    `slos` are given, with TTFT and E2E taken from `basis` (see `slo.LatencyBasis`).
    `forced_length`: the requests asked for exact output lengths (see `LengthCheck.forced`)."""
    if end_ns <= start_ns:
        raise ValueError(f"empty measurement window [{start_ns}, {end_ns}]")
    window_s = (end_ns - start_ns) / NS_PER_S
    completed = [record for record in records if record.ok]
    per_record = [request_metrics(record) for record in records]  # None for each failure
    measured = [m for m in per_record if m is not None]
    finished_inside = [r for r in completed if start_ns <= r.end_ns <= end_ns]
    tokens_inside = sum(record.output_tokens for record in finished_inside)
    return Summary(
        window_start_ns=start_ns,
        window_end_ns=end_ns,
        window_s=window_s,
        requests=len(records),
        completed=len(completed),
        failed=len(records) - len(completed),
        completed_in_window=len(finished_inside),
        request_throughput_per_s=len(finished_inside) / window_s,
        output_token_throughput_per_s=tokens_inside / window_s,
        failures=failures_by_kind(records),
        errors=error_groups(records),
        output_length=check_lengths(records, forced=forced_length),
        distributions=distributions(measured, completed),
        goodput=(
            evaluate_goodput(records, slos, start_ns, end_ns, basis, per_record) if slos else None
        ),
    )
