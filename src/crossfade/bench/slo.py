"""Service-level objectives and goodput (definitions in docs/metrics.md).

An SLO string is a comma-separated list of `METRIC:pPERCENTILE<VALUEUNIT`, for example
`ttft:p99<500ms,itl:p95<50ms,e2e:p50<2s,tpot:p90<20ms`.

- A request is *good* when it succeeded and, for every SLO, its own value of the metric is under
  the threshold: its TTFT, E2E or TPOT, or for ITL its own percentile (the SLO's) of its
  per-token ITL values. A metric a request does not have (no chunk for TTFT; OSL <= 1 for TPOT
  and ITL) does not count against it. Failed requests are never good.
- Goodput is good requests ending inside the window per second, and good / all requests.
- An SLO is *met* by the run when the SLO's percentile of the metric over all requests, with
  each failed request counted as infinite, is under the threshold. For ITL that is the pooled
  per-token distribution, and a failed request adds one infinite gap for each gap it was asked
  for (max(1, requested OSL - 1)), so failures weigh as much as the tokens they did not deliver.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from crossfade.bench.metrics import (
    NS_PER_MS,
    NS_PER_S,
    FloatArray,
    RequestMetrics,
    percentile,
    request_metrics,
)
from crossfade.bench.protocol import RequestRecord

# "sent": latency from when the client sent the request (what other tools report); "scheduled":
# from its intended send time, which in an open-loop run also charges the client's own delay.
LatencyBasis = Literal["sent", "scheduled"]


class SloMetric(StrEnum):
    TTFT = "ttft"
    ITL = "itl"
    TPOT = "tpot"
    E2E = "e2e"


UNIT_NS = {"ns": 1, "us": 1_000, "ms": NS_PER_MS, "s": NS_PER_S}
SLO_FORM = (
    "expected METRIC:pPERCENTILE<VALUEUNIT, comma-separated, with METRIC one of ttft, itl, tpot,"
    " e2e, PERCENTILE in (0, 100], UNIT one of ns, us, ms, s; e.g. ttft:p99<500ms,itl:p95<50ms"
)
_NUMBER = re.compile(r"\d+(\.\d+)?")
_THRESHOLD = re.compile(r"(?P<value>\d+(\.\d+)?)\s*(?P<unit>[a-z]+)")


@dataclass(frozen=True)
class Slo:
    """One objective: `metric`'s `percentile`-th percentile must stay under `threshold_ns`."""

    metric: SloMetric
    percentile: float
    threshold_ns: float
    text: str  # as written (trimmed, lower-case), for reports

    def __str__(self) -> str:
        return self.text


def parse_slo(part: str) -> Slo:
    """Parse one `METRIC:pPERCENTILE<VALUEUNIT`; raise ValueError naming what is wrong."""
    text = part.strip().lower()

    def bad(reason: str) -> ValueError:
        return ValueError(f"bad SLO {part.strip()!r}: {reason}; {SLO_FORM}")

    metric_name, colon, rest = text.partition(":")
    if not colon:
        raise bad("no ':' between the metric and the percentile")
    try:
        metric = SloMetric(metric_name.strip())
    except ValueError:
        raise bad(f"unknown metric {metric_name.strip()!r}") from None
    pct_text, less, threshold_text = rest.partition("<")
    if not less:
        raise bad("no '<' before the threshold")
    pct_text = pct_text.strip()
    if not pct_text.startswith("p") or not _NUMBER.fullmatch(pct_text[1:]):
        raise bad(f"percentile {pct_text!r} is not p followed by a number, like p99")
    pct = float(pct_text[1:])
    if not 0 < pct <= 100:
        raise bad(f"percentile {pct_text!r} is outside (0, 100]")
    match = _THRESHOLD.fullmatch(threshold_text.strip())
    if match is None:
        raise bad(f"threshold {threshold_text.strip()!r} is not a number with a unit")
    unit = match["unit"]
    if unit not in UNIT_NS:
        raise bad(f"unknown unit {unit!r}")
    # Decimal so that 0.1s is exactly 100000000 ns.
    threshold_ns = float(Decimal(match["value"]) * UNIT_NS[unit])
    if threshold_ns <= 0:
        raise bad("the threshold must be above 0")
    return Slo(metric, pct, threshold_ns, text.replace(" ", ""))


def parse_slos(text: str) -> list[Slo]:
    """Parse a comma-separated SLO list; an empty list or a repeated metric:percentile is an
    error."""
    if not text.strip():
        raise ValueError(f"no SLO given; {SLO_FORM}")
    slos: list[Slo] = []
    seen: set[tuple[SloMetric, float]] = set()
    for part in text.split(","):
        if not part.strip():
            raise ValueError(f"empty SLO in {text!r} (a stray comma?); {SLO_FORM}")
        slo = parse_slo(part)
        key = (slo.metric, slo.percentile)
        if key in seen:
            raise ValueError(
                f"{slo.metric}:p{slo.percentile:g} is given twice in {text!r}; {SLO_FORM}"
            )
        seen.add(key)
        slos.append(slo)
    return slos


def request_value(metrics: RequestMetrics, slo: Slo, basis: LatencyBasis = "sent") -> float | None:
    """This request's value for `slo`'s metric, or None when it has none (see module doc)."""
    if slo.metric is SloMetric.TTFT:
        return metrics.ttft_ns if basis == "sent" else metrics.ttft_from_scheduled_ns
    if slo.metric is SloMetric.E2E:
        return metrics.e2e_ns if basis == "sent" else metrics.e2e_from_scheduled_ns
    if slo.metric is SloMetric.TPOT:
        return metrics.tpot_ns
    return percentile(metrics.itl_ns, slo.percentile) if metrics.itl_ns.size else None


def is_good(record: RequestRecord, slos: Sequence[Slo], basis: LatencyBasis = "sent") -> bool:
    """Succeeded, and under every SLO's threshold (a metric it does not have does not count)."""
    return _meets(request_metrics(record), slos, basis)


def _meets(metrics: RequestMetrics | None, slos: Sequence[Slo], basis: LatencyBasis) -> bool:
    if metrics is None:  # a failed request
        return False
    for slo in slos:
        value = request_value(metrics, slo, basis)
        if value is not None and not value < slo.threshold_ns:
            return False
    return True


class SloResult(BaseModel):
    """Whether the run met one SLO; `observed_ns` is None when the percentile is infinite (it
    falls on failed requests) or there was no value at all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slo: str
    metric: SloMetric
    percentile: float
    threshold_ns: float
    observed_ns: float | None
    met: bool


class Goodput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    basis: LatencyBasis
    slos: list[SloResult]
    requests: int  # all requests considered, failures included
    good: int
    good_in_window: int  # good requests whose end falls inside the window
    good_per_s: float  # good_in_window / window length
    good_fraction: float | None  # good / requests; None without requests


def run_values(
    records: Sequence[RequestRecord],
    measured: Sequence[RequestMetrics],
    slo: Slo,
    basis: LatencyBasis = "sent",
) -> FloatArray:
    """The run's values of `slo`'s metric: one per successful request that has it (the pooled
    per-token values for ITL) plus infinities for the failed records (see module doc)."""
    failures = [record for record in records if not record.ok]
    if slo.metric is SloMetric.ITL:
        values = [m.itl_ns for m in measured]
        missing = sum(max(1, record.requested_output_tokens - 1) for record in failures)
    else:
        present = [request_value(m, slo, basis) for m in measured]
        values = [np.array([value for value in present if value is not None], dtype=np.float64)]
        missing = len(failures)
    return np.concatenate([*values, np.full(missing, math.inf)])


def evaluate_goodput(
    records: Sequence[RequestRecord],
    slos: Sequence[Slo],
    start_ns: int,
    end_ns: int,
    basis: LatencyBasis = "sent",
    per_record: Sequence[RequestMetrics | None] | None = None,
) -> Goodput:
    """Goodput and per-SLO attainment of `records` over the window [start_ns, end_ns].

    `per_record` is `request_metrics` of each record, when the caller already has them (they are
    the costly part on long runs)."""
    if end_ns <= start_ns:
        raise ValueError(f"empty measurement window [{start_ns}, {end_ns}]")
    if per_record is None:
        per_record = [request_metrics(record) for record in records]
    elif len(per_record) != len(records):
        raise ValueError("per_record must hold one entry per record")
    measured = [m for m in per_record if m is not None]
    results = []
    for slo in slos:
        values = run_values(records, measured, slo, basis)
        observed = percentile(values, slo.percentile) if values.size else None
        finite = observed if observed is not None and math.isfinite(observed) else None
        met = finite is not None and finite < slo.threshold_ns
        results.append(
            SloResult(
                slo=slo.text,
                metric=slo.metric,
                percentile=slo.percentile,
                threshold_ns=slo.threshold_ns,
                observed_ns=finite,
                met=met,
            )
        )
    good = [r for r, m in zip(records, per_record, strict=True) if _meets(m, slos, basis)]
    good_in_window = sum(1 for record in good if start_ns <= record.end_ns <= end_ns)
    return Goodput(
        basis=basis,
        slos=results,
        requests=len(records),
        good=len(good),
        good_in_window=good_in_window,
        good_per_s=good_in_window * NS_PER_S / (end_ns - start_ns),
        good_fraction=len(good) / len(records) if records else None,
    )
