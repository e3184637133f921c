"""The canary's gates: candidate against incumbent over the observations of one window. Pure.

Per backend: requests, error rate, TTFT and TPOT p95/p99 (one value per successful request),
ITL p95/p99 (the per-token values of all its successful requests, pooled, as `bench.metrics`
defines ITL) and output-length mismatches. Then each gate's verdict:

- a ratio (TTFT p95, ITL p95, TPOT p95: candidate / incumbent) or a difference (error rate, length
  mismatch share: candidate - incumbent) or an absolute SLO (candidate's p99), with a
  percentile-bootstrap interval at `gates.confidence` (requests resampled on each side; ITL as
  clusters of a request's tokens, as `crossfade compare` does);
- FAIL when the whole interval is past the limit, PASS when it is all within, UNCLEAR when it
  straddles the limit or a side has fewer than `gates.min_samples`.

So noise alone rarely fails a healthy candidate, and a clear regression fails on its first
window with enough requests. The draws are seeded: the same window gives the same verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from crossfade.bench.metrics import percentiles
from crossfade.compare.stats import percentile_replicates, ratio_replicates, resample_counts
from crossfade.rollout.router.observations import Observation
from crossfade.spec.canary_plan import Gates

FloatArray = npt.NDArray[np.float64]
RESAMPLES = 400
# Above this many requests a side, the intervals come from a seeded subsample of them: wider
# than the full sample's (so it errs towards unclear), and the cost stays flat in long steps.
MAX_RESAMPLED_REQUESTS = 4000
# Failed only by their length: they count in the length gate, not as errors.
LENGTH_ERRORS = frozenset({"short_output", "long_output"})
QS = [95.0, 99.0]  # the percentiles the gates use
# What a gate counts towards gates.min_samples: a failed request has no latency, a request of
# one token no TPOT, and a length is checked only where an exact one was asked.
_VALUES = {
    "ttft": "TTFT values",
    "tpot": "TPOT values",
    "itl": "requests with ITL values",
    "error": "requests",
    "length": "checked lengths",
}
NO_LENGTHS = (
    "no response could be checked: the router knows the requested length only of requests "
    "that ask for an exact one (ignore_eos); without such traffic, leave out "
    "gates.length_mismatch_delta_max"
)


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNCLEAR = "unclear"


@dataclass(frozen=True)
class BackendStats:
    """One backend in one window; latencies in ms, None where there was nothing to measure."""

    requests: int
    errors: int
    error_rate: float | None
    ttft_p95_ms: float | None
    ttft_p99_ms: float | None
    itl_p95_ms: float | None
    itl_p99_ms: float | None
    length_checked: int
    length_mismatches: int
    tpot_p95_ms: float | None = None
    tpot_p99_ms: float | None = None


@dataclass(frozen=True)
class GateResult:
    """One gate in one window: the point value, its interval and the limit it was held to."""

    name: str
    verdict: Verdict
    value: float | None
    low: float | None
    high: float | None
    limit: float
    note: str

    def describe(self) -> str:
        if self.value is None:
            return f"{self.name}: {self.note}"
        interval = "" if self.low is None else f" (CI {self.low:.3g} to {self.high:.3g})"
        relation = {Verdict.PASS: "within", Verdict.FAIL: "past", Verdict.UNCLEAR: "vs"}
        return f"{self.name} {self.value:.3g}{interval} {relation[self.verdict]} {self.limit:g}"


@dataclass(frozen=True)
class WindowReport:
    """The gates over one window, with the per-backend figures behind them."""

    incumbent: BackendStats
    candidate: BackendStats
    gates: tuple[GateResult, ...]

    @property
    def verdict(self) -> Verdict:
        verdicts = {g.verdict for g in self.gates}
        return next(v for v in (Verdict.FAIL, Verdict.UNCLEAR, Verdict.PASS) if v in verdicts)

    def with_verdict(self, verdict: Verdict) -> list[GateResult]:
        return [g for g in self.gates if g.verdict is verdict]


class _Arrays:
    """One backend's observations as arrays."""

    def __init__(self, observations: Sequence[Observation]) -> None:
        self.n = len(observations)
        done = [o for o in observations if o.ok]  # only these own latencies
        self.ok_index = np.flatnonzero([o.ok for o in observations])
        self.ttft = np.array([o.ttft_ms for o in done if o.ttft_ms is not None], float)
        self.ttft_owner = np.flatnonzero([o.ttft_ms is not None for o in done])
        self.tpot = np.array([o.tpot_ms for o in done if o.tpot_ms is not None], float)
        self.tpot_owner = np.flatnonzero([o.tpot_ms is not None for o in done])
        self.itl = np.array([v for o in done for v in o.itl_ms], float)
        self.itl_owner = np.repeat(np.arange(len(done)), [len(o.itl_ms) for o in done])
        self.itl_requests = sum(1 for o in done if o.itl_ms)
        self.error = np.array([_is_error(o) for o in observations], float)
        self.checked = np.array([_length_checked(o) for o in observations], float)
        self.mismatch = self.checked * np.array(
            [o.output_tokens != o.requested_tokens for o in observations], float
        )

    def values(self, metric: str) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """A metric's values and, for each, the index of its request among the successful."""
        if metric == "ttft":
            return self.ttft, self.ttft_owner.astype(np.int64)
        if metric == "tpot":
            return self.tpot, self.tpot_owner.astype(np.int64)
        return self.itl, self.itl_owner.astype(np.int64)


class _Side:
    """One backend: its arrays for the point values, and bootstrap replicates drawn from them
    (or from a seeded subsample of `MAX_RESAMPLED_REQUESTS` of its requests)."""

    def __init__(self, observations: Sequence[Observation], rng: np.random.Generator) -> None:
        self.all = _Arrays(observations)
        if self.all.n > MAX_RESAMPLED_REQUESTS:
            pick = np.sort(rng.choice(self.all.n, MAX_RESAMPLED_REQUESTS, replace=False))
            self.drawn = _Arrays([observations[i] for i in pick])
        else:
            self.drawn = self.all
        self._replicates: dict[str, FloatArray] = {}
        self.counts = (
            resample_counts([self.drawn.n], RESAMPLES, rng)
            if self.drawn.n
            else np.zeros((RESAMPLES, 0), dtype=np.int64)
        )

    @property
    def n(self) -> int:
        return self.all.n

    def samples(self, metric: str) -> int:
        """Requests that gave the metric a value."""
        if metric == "itl":
            return self.all.itl_requests
        return int(self.all.values(metric)[0].size)

    def stats(self) -> BackendStats:
        a = self.all
        ttft = percentiles(a.ttft, [95, 99]) if a.ttft.size else [None, None]
        itl = percentiles(a.itl, [95, 99]) if a.itl.size else [None, None]
        tpot = percentiles(a.tpot, [95, 99]) if a.tpot.size else [None, None]
        return BackendStats(
            requests=a.n,
            errors=int(a.error.sum()),
            error_rate=float(a.error.mean()) if a.n else None,
            ttft_p95_ms=ttft[0],
            ttft_p99_ms=ttft[1],
            itl_p95_ms=itl[0],
            itl_p99_ms=itl[1],
            length_checked=int(a.checked.sum()),
            length_mismatches=int(a.mismatch.sum()),
            tpot_p95_ms=tpot[0],
            tpot_p99_ms=tpot[1],
        )

    def percentile(self, metric: str, q: float) -> tuple[float, FloatArray]:
        """The point value of percentile `q` (95 or 99) and its replicates."""
        if metric not in self._replicates:  # one pass gives both percentiles
            values, owners = self.drawn.values(metric)
            ok_counts = self.counts[:, self.drawn.ok_index]
            self._replicates[metric] = percentile_replicates(values, owners, ok_counts, QS)
        point = percentiles(self.all.values(metric)[0], [q])[0]
        return point, self._replicates[metric][:, QS.index(q)]

    def share(self, kind: str) -> tuple[float, FloatArray, int]:
        """(point share, replicates, denominator) of errors among requests, or of length
        mismatches among the responses whose length could be checked."""

        def pair(a: _Arrays) -> tuple[FloatArray, FloatArray]:
            return (a.error, np.ones(a.n)) if kind == "error" else (a.mismatch, a.checked)

        hits, of = pair(self.all)
        denominator = int(of.sum())
        point = float(hits.sum() / denominator) if denominator else float("nan")
        return point, ratio_replicates(*pair(self.drawn), self.counts), denominator


def _is_error(o: Observation) -> bool:
    return not o.ok and o.error_kind not in LENGTH_ERRORS


def _length_checked(o: Observation) -> bool:
    whole = o.ok or o.error_kind in LENGTH_ERRORS
    return whole and o.output_tokens is not None and o.requested_tokens is not None


def evaluate_window(
    observations: Sequence[Observation],
    incumbent: str,
    candidate: str,
    gates: Gates,
    seed: int = 0,
) -> WindowReport:
    """The gates of `gates` over `observations` (other backends' are ignored)."""
    rng = np.random.default_rng(seed)
    inc = _Side([o for o in observations if o.backend == incumbent], rng)
    cand = _Side([o for o in observations if o.backend == candidate], rng)
    judge = _Judge(gates)
    results = [judge.ratio("ttft_p95_ratio", inc, cand, "ttft", gates.ttft_p95_ratio_max)]
    if gates.itl_p95_ratio_max is not None:
        results.append(judge.ratio("itl_p95_ratio", inc, cand, "itl", gates.itl_p95_ratio_max))
    if gates.tpot_p95_ratio_max is not None:
        limit = gates.tpot_p95_ratio_max
        results.append(judge.ratio("tpot_p95_ratio", inc, cand, "tpot", limit))
    results.append(judge.delta("error_rate_delta", inc, cand, "error", gates.error_rate_delta_max))
    if gates.length_mismatch_delta_max is not None:
        limit = gates.length_mismatch_delta_max
        results.append(judge.delta("length_mismatch_delta", inc, cand, "length", limit))
    if gates.slo and gates.slo.ttft_p99_ms is not None:
        results.append(judge.slo("ttft_p99_ms", cand, "ttft", gates.slo.ttft_p99_ms))
    if gates.slo and gates.slo.itl_p99_ms is not None:
        results.append(judge.slo("itl_p99_ms", cand, "itl", gates.slo.itl_p99_ms))
    return WindowReport(inc.stats(), cand.stats(), tuple(results))


class _Judge:
    """Turns a point value and its replicates into a verdict against a limit (lower is better)."""

    def __init__(self, gates: Gates) -> None:
        self.min_samples = gates.min_samples
        self.tail = (1 - gates.confidence) / 2

    def ratio(self, name: str, inc: _Side, cand: _Side, metric: str, limit: float) -> GateResult:
        short = self._too_few(name, metric, limit, inc.samples(metric), cand.samples(metric))
        if short:
            return short
        base, base_reps = inc.percentile(metric, 95)
        value, reps = cand.percentile(metric, 95)
        if base <= 0:
            if value <= 0:  # both 0: whole answers (TPOT) or many-token chunks (ITL) both sides
                return GateResult(name, Verdict.PASS, 1.0, None, None, limit, "both p95 are 0")
            return _unclear(name, limit, f"incumbent p95 is 0, candidate's {value:.3g} ms")
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._verdict(name, value / base, reps / base_reps, limit)

    def delta(self, name: str, inc: _Side, cand: _Side, kind: str, limit: float) -> GateResult:
        base, base_reps, inc_n = inc.share(kind)
        value, reps, cand_n = cand.share(kind)
        if kind == "length" and inc_n == cand_n == 0:
            return _unclear(name, limit, NO_LENGTHS)
        short = self._too_few(name, kind, limit, inc_n, cand_n)
        if short:
            return short
        return self._verdict(name, value - base, reps - base_reps, limit)

    def slo(self, name: str, cand: _Side, metric: str, limit: float) -> GateResult:
        samples = cand.samples(metric)
        if samples < self.min_samples:
            note = f"too few {_VALUES[metric]}: candidate {samples} {self._needed}"
            return _unclear(name, limit, note)
        value, reps = cand.percentile(metric, 99)
        return self._verdict(name, value, reps, limit)

    @property
    def _needed(self) -> str:
        return f"(gates.min_samples is {self.min_samples})"

    def _too_few(
        self, name: str, metric: str, limit: float, inc: int, cand: int
    ) -> GateResult | None:
        if min(inc, cand) >= self.min_samples:
            return None
        note = f"too few {_VALUES[metric]}: candidate {cand}, incumbent {inc} {self._needed}"
        return _unclear(name, limit, note)

    def _verdict(self, name: str, value: float, replicates: FloatArray, limit: float) -> GateResult:
        usable = replicates[np.isfinite(replicates)]
        if usable.size == 0:
            return _unclear(name, limit, "no usable resample")
        low, high = (float(x) for x in np.quantile(usable, [self.tail, 1 - self.tail]))
        # The point value too: a percentile interval need not contain it.
        if low > limit and value > limit:
            verdict, note = Verdict.FAIL, "past the limit"
        elif high <= limit and value <= limit:
            verdict, note = Verdict.PASS, "within the limit"
        else:
            verdict, note = Verdict.UNCLEAR, "the interval straddles the limit"
        return GateResult(name, verdict, value, low, high, limit, note)


def _unclear(name: str, limit: float, note: str) -> GateResult:
    return GateResult(name, Verdict.UNCLEAR, None, None, None, limit, note)
