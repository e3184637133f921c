"""The server's own view of a run, from its Prometheus endpoint, normalised across servers.

Triton (`nv_inference_*`, and the backends' `vllm:*` / `nv_trt_llm_*` families), vLLM's OpenAI
server (`vllm:*`) and trtllm-serve (`trtllm_*`, at /prometheus/metrics) name things differently;
a `ServerView` holds the same few figures for any of them: requests that succeeded and failed,
server-side queue and compute time, the server's TTFT (mean and histogram) and TPOT when it has
them, running and waiting requests, and KV-cache use. `FAMILIES` is the one table of which
family gives which figure. Counters and histograms are reported as the difference between the
scrapes before and after the run; gauges as sampled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, ConfigDict

Sample = tuple[str, dict[str, str], float]
Series = list[tuple[int, float]]  # (perf_counter_ns, value) samples

Figure = Literal[
    "requests_ok",
    "requests_failed",
    "queue_time_s_mean",
    "compute_time_s_mean",
    "ttft_mean_s",
    "tpot_mean_s",
    "running",
    "waiting",
    "kv_cache_use",
]
# counter: its rise over the run; us_per_request: a counter of microseconds summed over the
# requests, so its rise / requests_ok is a mean, in s; histogram (in s): the mean of what it
# observed during the run; gauge: a series of samples.
Kind = Literal["counter", "us_per_request", "histogram", "gauge"]


@dataclass(frozen=True, slots=True)
class Family:
    """A Prometheus family a `ServerView` figure is read from (its series with `labels`)."""

    name: str  # as exposed; a counter's samples may add `_total`
    kind: Kind
    figure: Figure
    labels: tuple[tuple[str, str], ...] = ()
    buckets: bool = False  # a TTFT histogram whose buckets over the run are kept too


# A scalar figure comes from the first family here that the server exposes; a gauge figure
# collects the samples of every family that gives it. Counters and histograms are read for the
# target's Triton model (label `model`) when it has one; gauges for the whole server (Triton's
# engine gauges are labelled with the engine model, not the ensemble a client calls).
FAMILIES: tuple[Family, ...] = (
    Family("nv_inference_request_success", "counter", "requests_ok"),
    Family("nv_inference_request_failure", "counter", "requests_failed"),
    Family("nv_inference_queue_duration_us", "us_per_request", "queue_time_s_mean"),
    Family("nv_inference_compute_infer_duration_us", "us_per_request", "compute_time_s_mean"),
    Family("vllm:request_success_total", "counter", "requests_ok"),
    Family("vllm:time_to_first_token_seconds", "histogram", "ttft_mean_s", buckets=True),
    Family("vllm:num_requests_running", "gauge", "running"),
    Family("vllm:num_requests_waiting", "gauge", "waiting"),
    Family("vllm:kv_cache_usage_perc", "gauge", "kv_cache_use"),
    Family("nv_trt_llm_request_metrics", "gauge", "running", (("request_type", "active"),)),
    Family("nv_trt_llm_request_metrics", "gauge", "waiting", (("request_type", "waiting"),)),
    Family(
        "nv_trt_llm_kv_cache_block_metrics",
        "gauge",
        "kv_cache_use",
        (("kv_cache_block_type", "fraction"),),
    ),
    # trtllm-serve (TensorRT-LLM's tensorrt_llm/metrics/collector.py): every series is labelled
    # model_name and engine_type; success adds finished_reason, errors http_code.
    Family("trtllm_request_success_total", "counter", "requests_ok"),
    Family("trtllm_request_error_total", "counter", "requests_failed"),
    Family("trtllm_request_queue_time_seconds", "histogram", "queue_time_s_mean"),
    Family("trtllm_time_to_first_token_seconds", "histogram", "ttft_mean_s", buckets=True),
    Family("trtllm_time_per_output_token_seconds", "histogram", "tpot_mean_s"),
    Family("trtllm_num_requests_running", "gauge", "running"),
    Family("trtllm_num_requests_waiting", "gauge", "waiting"),
    Family("trtllm_kv_cache_utilization", "gauge", "kv_cache_use"),
)


def parse_samples(text: str) -> list[Sample]:
    samples: list[Sample] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.append((sample.name, dict(sample.labels), float(sample.value)))
    return samples


def _total(samples: Iterable[Sample], name: str, **labels: str) -> float | None:
    # The parser names counter samples `<family>_total`, whether or not the exposition did.
    names = {name, name + "_total"} if not name.endswith("_total") else {name}
    values = [
        value
        for sample_name, sample_labels, value in samples
        if sample_name in names and all(sample_labels.get(k) == v for k, v in labels.items())
    ]
    return sum(values) if values else None


@dataclass
class Scrape:
    """One scrape: when (perf_counter_ns) and the samples of the models that matter."""

    at_ns: int
    samples: list[Sample]

    def total(self, name: str, **labels: str) -> float | None:
        return _total(self.samples, name, **labels)


class ServerView(BaseModel):
    """Normalised server-side figures for one model over a run (a result's `server_metrics`)."""

    model_config = ConfigDict(extra="forbid")

    requests_ok: float | None = None
    requests_failed: float | None = None
    queue_time_s_mean: float | None = None
    compute_time_s_mean: float | None = None
    ttft_histogram: dict[str, float] | None = None  # upper bound (s) -> count in the run
    ttft_mean_s: float | None = None
    tpot_mean_s: float | None = None  # None in results saved before trtllm-serve was read
    running: Series = []
    waiting: Series = []
    kv_cache_use: Series = []  # fraction 0..1


class _Run:
    """The first and the last scrape of a run, read for one Triton model (or none)."""

    def __init__(self, scrapes: list[Scrape], model: str | None) -> None:
        self.first, self.last = scrapes[0], scrapes[-1]
        self.labels = {"model": model} if model else {}

    def rise(self, name: str, **extra: str) -> float | None:
        after = self.last.total(name, **self.labels, **extra)
        before = self.first.total(name, **self.labels, **extra)
        return None if after is None or before is None else after - before

    def mean(self, name: str) -> float | None:
        """The mean of what a histogram observed during the run; None when it observed none."""
        count, total = self.rise(f"{name}_count"), self.rise(f"{name}_sum")
        return total / count if count and total is not None else None

    def buckets(self, name: str) -> dict[str, float] | None:
        found: dict[str, float] = {}
        for sample_name, sample_labels, value in self.last.samples:
            if sample_name != f"{name}_bucket" or any(
                sample_labels.get(k) != v for k, v in self.labels.items()
            ):
                continue
            bound = sample_labels.get("le", "")
            before = self.first.total(f"{name}_bucket", **self.labels, le=bound) or 0.0
            found[bound] = found.get(bound, 0.0) + value - before
        return found or None


def server_view(model: str | None, scrapes: list[Scrape]) -> ServerView:
    """Figures for `model` (Triton model name; None for an OpenAI server) from the scrapes."""
    view = ServerView()
    if len(scrapes) < 2:
        return view
    run = _Run(scrapes, model)
    for family in FAMILIES:  # the counts first: a per-request mean divides by requests_ok
        if family.kind == "counter" and getattr(view, family.figure) is None:
            setattr(view, family.figure, run.rise(family.name, **dict(family.labels)))
    ok = view.requests_ok or 0.0
    for family in FAMILIES:
        if family.kind in ("us_per_request", "histogram") and getattr(view, family.figure) is None:
            if family.kind == "histogram":
                setattr(view, family.figure, run.mean(family.name))
                if family.buckets and view.ttft_histogram is None:
                    view.ttft_histogram = run.buckets(family.name)
            elif ok > 0:
                micros = run.rise(family.name, **dict(family.labels))
                setattr(view, family.figure, micros / ok / 1e6 if micros is not None else None)
    gauges = [family for family in FAMILIES if family.kind == "gauge"]
    for scrape in scrapes:  # in time order, whichever families the server has
        for family in gauges:
            value = scrape.total(family.name, **dict(family.labels))
            if value is not None:
                getattr(view, family.figure).append((scrape.at_ns, value))
    return view
