"""The canary plan's gates as PromQL: candidate against incumbent over the same trailing window.

Every metric name here is one Triton or its backends export: each is looked up in
`triton_metrics.py`, which cites the upstream file that defines it.

- TTFT: `vllm:time_to_first_token_seconds` on the vLLM side (only with REPORT_CUSTOM_METRICS);
  Triton core's `nv_inference_first_response_histogram_ms` on the TensorRT-LLM side, which has
  no TTFT histogram of its own (and is TTFT only when the model streams). Both are turned into
  milliseconds.
- ITL: `vllm:time_per_output_token_seconds` (the name Triton's vLLM backend exports; vLLM's own
  server calls it `vllm:inter_token_latency_seconds`). TensorRT-LLM on Triton exports no
  per-token latency at all, so the relative ITL gate has no honest counterpart and is left out.
- Errors: `nv_inference_request_failure / (success + failure)`, Triton core, for both backends.

Which side has which series, layout by layout, is `canary_exports.py`.

A query returns nothing until each side has enough samples in the window (the plan's
`min_samples`), so the driver sees "no data" rather than a verdict from a handful of requests.
Between `gates.min_samples` and the step's `min_samples` only a value past the limit comes back:
as in the plan, a gate may fail on fewer samples than it needs to pass. There are no
confidence intervals in PromQL: a point estimate past the limit fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossfade.render.k8s.common import Backend
from crossfade.render.k8s.triton_metrics import family

PASS_QUANTILE, SLO_QUANTILE = 0.95, 0.99


@dataclass(frozen=True)
class Histogram:
    """A latency histogram family and the factor that turns its unit into milliseconds."""

    family: str
    to_ms: float

    def __post_init__(self) -> None:
        if family(self.family).kind != "histogram":
            raise ValueError(f"{self.family} is not a histogram")


VLLM_TTFT = Histogram("vllm:time_to_first_token_seconds", 1000.0)
VLLM_ITL = Histogram("vllm:time_per_output_token_seconds", 1000.0)
# Off by default: the TensorRT-LLM side's pods run tritonserver with histogram_latencies=true.
TRITON_FIRST_RESPONSE = Histogram("nv_inference_first_response_histogram_ms", 1.0)
SUCCESS = family("nv_inference_request_success").name
FAILURE = family("nv_inference_request_failure").name


@dataclass(frozen=True)
class Side:
    """One backend as Prometheus sees it: its layout (as notes name it), its series' label
    matchers, its histograms, the signals it cannot supply and why, and what the notes must
    say about a gate it backs (`canary_exports.side_of`)."""

    backend: Backend
    layout: str
    matchers: str
    ttft: Histogram | None
    itl: Histogram | None
    missing: dict[str, str]  # signal -> why this backend cannot supply it
    caveats: tuple[str, ...] = ()


def model_matcher(models: tuple[str, ...]) -> str:
    """The `model` label matching any of `models`."""
    # Model names are [A-Za-z0-9_.-]: a '.' would match any character in a regex.
    if len(models) == 1:
        return f'model="{models[0]}"'
    return f'model=~"{"|".join(name.replace(".", "[.]") for name in models)}"'


def series_matchers(labels: dict[str, str], model: str) -> str:
    return ", ".join([*(f'{key}="{value}"' for key, value in labels.items()), model])


@dataclass(frozen=True)
class Gate:
    """One gate as a query whose value must stay at or below `limit`."""

    name: str
    title: str
    query: str
    limit: float
    relative: bool  # compares with the incumbent, so needs incumbent traffic


@dataclass(frozen=True)
class Samples:
    """Requests per side in the window: enough to pass, and enough for any verdict."""

    to_pass: int
    for_verdict: int


def relative_gates(
    limits: dict[str, float],
    candidate: Side,
    incumbent: Side,
    window: str,
    samples: Samples,
) -> tuple[list[Gate], dict[str, str]]:
    """The p95 ratios (`limits` by signal: ttft, and itl when the plan has it) where both
    sides export the signal, and the error-rate delta (limit under "error"); and the plan's
    gates left out (its key -> why)."""
    gates: list[Gate] = []
    left_out: dict[str, str] = {}
    for signal in [s for s in ("ttft", "itl") if s in limits]:
        mine, theirs = _histogram(candidate, signal), _histogram(incumbent, signal)
        if mine is None or theirs is None:
            why = "; ".join(
                f"{side.backend}: {side.missing[signal]}"
                for side in (candidate, incumbent)
                if signal in side.missing
            )
            left_out[f"{signal}_p95_ratio_max"] = why
            continue
        ratio = (
            f"{_ms(PASS_QUANTILE, mine, candidate.matchers, window)}\n/\n"
            f"{_ms(PASS_QUANTILE, theirs, incumbent.matchers, window)}"
        )
        counts = [
            _count(mine, candidate.matchers, window),
            _count(theirs, incumbent.matchers, window),
        ]
        query = _guarded(ratio, limits[signal], counts, samples)
        title = f"{signal.upper()} p95, candidate / incumbent"
        gates.append(Gate(f"{signal}-p95-ratio", title, query, limits[signal], True))
    delta = f"{_error_rate(candidate, window)}\n-\n{_error_rate(incumbent, window)}"
    counts = [_requests(candidate, window), _requests(incumbent, window)]
    query = _guarded(delta, limits["error"], counts, samples)
    title = "error rate, candidate - incumbent"
    gates.append(Gate("error-rate-delta", title, query, limits["error"], True))
    return gates, left_out


def slo_gates(
    ttft_p99_ms: float | None,
    itl_p99_ms: float | None,
    candidate: Side,
    window: str,
    samples: Samples,
) -> tuple[list[Gate], dict[str, str]]:
    """Absolute p99 limits on the candidate alone, in milliseconds; and those left out."""
    gates: list[Gate] = []
    left_out: dict[str, str] = {}
    for signal, limit in (("ttft", ttft_p99_ms), ("itl", itl_p99_ms)):
        histogram = _histogram(candidate, signal)
        if limit is None:
            continue
        if histogram is None:
            left_out[f"slo.{signal}_p99_ms"] = f"{candidate.backend}: {candidate.missing[signal]}"
            continue
        value = _ms(SLO_QUANTILE, histogram, candidate.matchers, window)
        query = _guarded(value, limit, [_count(histogram, candidate.matchers, window)], samples)
        title = f"{signal.upper()} p99 of the candidate, ms"
        gates.append(Gate(f"{signal}-p99-slo", title, query, limit, False))
    return gates, left_out


def _histogram(side: Side, signal: str) -> Histogram | None:
    return side.ttft if signal == "ttft" else side.itl


def _ms(quantile: float, histogram: Histogram, matchers: str, window: str) -> str:
    value = (
        f"histogram_quantile({quantile:g}, sum by (le) "
        f"(rate({histogram.family}_bucket{{{matchers}}}[{window}])))"
    )
    return f"({value} * {histogram.to_ms:g})" if histogram.to_ms != 1 else f"({value})"


def _count(histogram: Histogram, matchers: str, window: str) -> str:
    return f"sum(increase({histogram.family}_count{{{matchers}}}[{window}]))"


def _counter(family: str, side: Side, window: str) -> str:
    # A counter with no series yet (no failure so far) counts as 0, not as "no data".
    return f"(sum(increase({family}{{{side.matchers}}}[{window}])) or vector(0))"


def _requests(side: Side, window: str) -> str:
    return f"({_counter(SUCCESS, side, window)} + {_counter(FAILURE, side, window)})"


def _error_rate(side: Side, window: str) -> str:
    return f"({_counter(FAILURE, side, window)}\n  / {_requests(side, window)})"


def _guarded(value: str, limit: float, counts: list[str], samples: Samples) -> str:
    """`value` once every count reaches `to_pass`; before that only a value past `limit`,
    and only once every count reaches `for_verdict`; otherwise nothing."""
    enough = "".join(f"\nand on() ({count} >= {samples.to_pass})" for count in counts)
    query = f"(\n{_indent(value)}\n){enough}"
    if samples.for_verdict < samples.to_pass:
        some = "".join(f"\nand on() ({count} >= {samples.for_verdict})" for count in counts)
        past = f"(\n{_indent(value)}\n) > {limit:g}{some}"
        query = f"(\n{_indent(query)}\n)\nor\n(\n{_indent(past)}\n)"
    return query + "\n"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
