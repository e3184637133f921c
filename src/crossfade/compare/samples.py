"""One saved run as the per-request arrays the comparison statistics resample.

Every figure uses the run summary's own definitions (`bench.summary`, `bench.metrics`,
`bench.slo`): the measured records are those scheduled inside the run's measurement window,
latencies come from `request_metrics` on the same basis the run's summary used (from the
scheduled time in an open loop), and throughput counts the successful requests that ended inside
the window. A failed request has no latency; it counts in `failed` and as a miss in goodput.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from crossfade.bench.metrics import NS_PER_S, FloatArray, IntArray, RequestMetrics, request_metrics
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.results import BenchResult
from crossfade.bench.slo import LatencyBasis, Slo, is_good, parse_slo
from crossfade.bench.summary import in_window
from crossfade.errors import CrossfadeError

NAN = float("nan")


@dataclass(frozen=True, eq=False)
class RunSamples:
    """One value per measured request (NaN where it has none), in the order they were
    scheduled, plus the pooled per-token ITL values and the request each belongs to."""

    folder: str
    window_ns: int
    slos: tuple[str, ...]
    ttft_ns: FloatArray  # NaN: failed, or no chunk
    e2e_ns: FloatArray  # NaN: failed
    decode_rate: FloatArray  # output tokens/s after the first (`output_tokens_per_s`)
    itl_ns: FloatArray
    itl_owner: IntArray  # position of the request each ITL value came from
    slot_ns: FloatArray  # end - scheduled: how long it held its slot (failures too)
    concurrency: int | None  # closed loop: the number of slots; None: open loop
    counted: FloatArray  # 1: succeeded and ended inside the window (throughput counts it)
    counted_tokens: FloatArray  # its output tokens when counted, else 0
    good: FloatArray | None  # 1: good (every SLO met) and ended inside the window; None: no SLOs

    @property
    def requests(self) -> int:
        return int(self.slot_ns.size)

    @property
    def failed(self) -> int:
        return int(np.isnan(self.e2e_ns).sum())

    @property
    def window_s(self) -> float:
        return self.window_ns / NS_PER_S


def run_slos(result: BenchResult, folder: str) -> list[Slo]:
    try:
        return [parse_slo(text) for text in result.config.slos]
    except ValueError as exc:
        raise CrossfadeError(f"{folder}: result.json config.slos: {exc}") from None


def measurement_window(result: BenchResult, folder: str) -> tuple[int, int]:
    start, end = result.run.measure_start_ns, result.run.end_ns
    if end <= start:
        raise CrossfadeError(f"{folder}: empty measurement window [{start}, {end}]")
    return start, end


def run_samples(result: BenchResult, records: Sequence[RequestRecord], folder: str) -> RunSamples:
    start, end = measurement_window(result, folder)
    plan = result.config.plan
    # The basis the run's summary used (see `bench.session`): from the scheduled time in an
    # open loop, so a delayed send is charged to the latency.
    basis: LatencyBasis = "scheduled" if plan.mode == "open" else "sent"
    slos = run_slos(result, folder)
    # In the order they were sent out: a closed loop's throughput replays that order.
    measured = sorted(in_window(records, start, end), key=lambda r: (r.scheduled_ns, r.index))
    per_record = [request_metrics(record) for record in measured]
    # As in `summarize`: a success counts towards throughput when it ends inside the window.
    counted = [r.ok and start <= r.end_ns <= end for r in measured]
    good = None
    if slos:
        good = [c and is_good(r, slos, basis) for r, c in zip(measured, counted, strict=True)]
    itl = [m.itl_ns if m is not None else np.zeros(0) for m in per_record]
    return RunSamples(
        folder=folder,
        window_ns=end - start,
        slos=tuple(str(slo) for slo in slos),
        ttft_ns=_values(per_record, _ttft if basis == "sent" else _ttft_scheduled),
        e2e_ns=_values(per_record, _e2e if basis == "sent" else _e2e_scheduled),
        decode_rate=_values(per_record, lambda m: m.output_tokens_per_s),
        itl_ns=np.concatenate([np.zeros(0), *itl]).astype(np.float64),
        itl_owner=np.repeat(np.arange(len(itl), dtype=np.int64), [a.size for a in itl]),
        slot_ns=np.array([r.end_ns - r.scheduled_ns for r in measured], dtype=np.float64),
        concurrency=plan.concurrency,
        counted=np.array(counted, dtype=np.float64),
        counted_tokens=np.array(
            [r.output_tokens if c else 0 for r, c in zip(measured, counted, strict=True)],
            dtype=np.float64,
        ),
        good=np.array(good, dtype=np.float64) if good is not None else None,
    )


def _ttft(metrics: RequestMetrics) -> int | None:
    return metrics.ttft_ns


def _ttft_scheduled(metrics: RequestMetrics) -> int | None:
    return metrics.ttft_from_scheduled_ns


def _e2e(metrics: RequestMetrics) -> int:
    return metrics.e2e_ns


def _e2e_scheduled(metrics: RequestMetrics) -> int:
    return metrics.e2e_from_scheduled_ns


def _values(
    per_record: Sequence[RequestMetrics | None], pick: Callable[[RequestMetrics], float | None]
) -> FloatArray:
    """`pick` of each request as floats; NaN for a failed request or a missing value."""
    picked = [None if m is None else pick(m) for m in per_record]
    return np.array([NAN if v is None else v for v in picked], dtype=np.float64)
