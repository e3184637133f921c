"""The server's own view of a run, from its Prometheus endpoint, normalised across servers.

Triton (`nv_inference_*`, and the backends' `vllm:*` / `nv_trt_llm_*` families) and vLLM's
OpenAI server (`vllm:*`) name things differently; a `ServerView` holds the same few figures for
any of them: requests that succeeded and failed, server-side queue and compute time, the server's
TTFT histogram when it has one, running and waiting requests, and KV-cache use. Counters are
reported as the difference between the scrapes before and after the run; gauges as sampled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, ConfigDict

Sample = tuple[str, dict[str, str], float]


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
    running: list[tuple[int, float]] = []  # (perf_counter_ns, value) samples
    waiting: list[tuple[int, float]] = []
    kv_cache_use: list[tuple[int, float]] = []  # fraction 0..1


def server_view(model: str | None, scrapes: list[Scrape]) -> ServerView:
    """Figures for `model` (Triton model name; None for vLLM's own server) from the scrapes."""
    view = ServerView()
    if len(scrapes) < 2:
        return view
    first, last = scrapes[0], scrapes[-1]
    labels = {"model": model} if model else {}

    def delta(name: str, **extra: str) -> float | None:
        after, before = last.total(name, **labels, **extra), first.total(name, **labels, **extra)
        return None if after is None or before is None else after - before

    view.requests_ok = delta("nv_inference_request_success")
    if view.requests_ok is None:
        view.requests_ok = delta("vllm:request_success_total")
    view.requests_failed = delta("nv_inference_request_failure")
    ok = view.requests_ok or 0.0
    if ok > 0:
        queue_us = delta("nv_inference_queue_duration_us")
        compute_us = delta("nv_inference_compute_infer_duration_us")
        view.queue_time_s_mean = queue_us / ok / 1e6 if queue_us is not None else None
        view.compute_time_s_mean = compute_us / ok / 1e6 if compute_us is not None else None
    _ttft(view, first, last, labels)
    for scrape in scrapes:
        _gauges(view, scrape)
    return view


def _ttft(view: ServerView, first: Scrape, last: Scrape, labels: dict[str, str]) -> None:
    name = "vllm:time_to_first_token_seconds"
    count = _delta(first, last, f"{name}_count", labels)
    total = _delta(first, last, f"{name}_sum", labels)
    if count and total is not None:
        view.ttft_mean_s = total / count
    buckets: dict[str, float] = {}
    for sample_name, sample_labels, value in last.samples:
        if sample_name != f"{name}_bucket" or any(
            sample_labels.get(k) != v for k, v in labels.items()
        ):
            continue
        bound = sample_labels.get("le", "")
        before = first.total(f"{name}_bucket", **labels, le=bound) or 0.0
        buckets[bound] = buckets.get(bound, 0.0) + value - before
    view.ttft_histogram = buckets or None


def _delta(first: Scrape, last: Scrape, name: str, labels: dict[str, str]) -> float | None:
    after, before = last.total(name, **labels), first.total(name, **labels)
    return None if after is None or before is None else after - before


def _gauges(view: ServerView, scrape: Scrape) -> None:
    # Engine gauges are labelled with the engine model (tensorrt_llm, tensorrt_llm_emulator),
    # not the ensemble a client calls, so they are read for the whole server.
    pairs: tuple[tuple[list[tuple[int, float]], str, dict[str, str]], ...] = (
        (view.running, "vllm:num_requests_running", {}),
        (view.waiting, "vllm:num_requests_waiting", {}),
        (view.kv_cache_use, "vllm:kv_cache_usage_perc", {}),
        (view.running, "nv_trt_llm_request_metrics", {"request_type": "active"}),
        (view.waiting, "nv_trt_llm_request_metrics", {"request_type": "waiting"}),
        (
            view.kv_cache_use,
            "nv_trt_llm_kv_cache_block_metrics",
            {"kv_cache_block_type": "fraction"},
        ),
    )
    for series, name, labels in pairs:
        value = scrape.total(name, **labels)
        if value is not None:
            series.append((scrape.at_ns, value))
