"""Normalising Prometheus expositions of Triton, vLLM and trtllm-serve into one server view."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from crossfade.bench.server_metrics import FAMILIES, Scrape, parse_samples, server_view

TRITON_BEFORE = """\
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="ensemble",version="1"} 10
nv_inference_request_success{model="preprocessing",version="1"} 10
# TYPE nv_inference_request_failure counter
nv_inference_request_failure{model="ensemble",reason="OTHER",version="1"} 1
# TYPE nv_inference_queue_duration_us counter
nv_inference_queue_duration_us{model="ensemble",version="1"} 1000
# TYPE nv_inference_compute_infer_duration_us counter
nv_inference_compute_infer_duration_us{model="ensemble",version="1"} 50000
# TYPE nv_trt_llm_request_metrics gauge
nv_trt_llm_request_metrics{model="tensorrt_llm_emulator",request_type="active",version="1"} 0
nv_trt_llm_request_metrics{model="tensorrt_llm_emulator",request_type="waiting",version="1"} 0
# TYPE nv_trt_llm_kv_cache_block_metrics gauge
nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction",model="emu",version="1"} 0.0
"""


def scrape(at: int, text: str) -> Scrape:
    return Scrape(at, parse_samples(text))


def test_triton_counters_become_deltas_and_gauges_series() -> None:
    after = (
        TRITON_BEFORE.replace('"1"} 10\n', '"1"} 30\n', 1)
        .replace('reason="OTHER",version="1"} 1', 'reason="OTHER",version="1"} 3')
        .replace("} 1000", "} 5000")
        .replace("} 50000", "} 250000")
        .replace('request_type="active",version="1"} 0', 'request_type="active",version="1"} 7')
        .replace("} 0.0", "} 0.25")
    )
    view = server_view("ensemble", [scrape(0, TRITON_BEFORE), scrape(5, after)])
    assert view.requests_ok == 20
    assert view.requests_failed == 2
    assert view.queue_time_s_mean == 4000 / 20 / 1e6
    assert view.compute_time_s_mean == 200000 / 20 / 1e6
    assert view.running == [(0, 0.0), (5, 7.0)]
    assert view.kv_cache_use == [(0, 0.0), (5, 0.25)]
    assert view.ttft_histogram is None


def test_vllm_ttft_histogram_over_the_run() -> None:
    def text(count: int, total: float, fast: int) -> str:
        return (
            "# TYPE vllm:time_to_first_token_seconds histogram\n"
            f'vllm:time_to_first_token_seconds_bucket{{le="0.1",model_name="m"}} {fast}\n'
            f'vllm:time_to_first_token_seconds_bucket{{le="+Inf",model_name="m"}} {count}\n'
            f'vllm:time_to_first_token_seconds_count{{model_name="m"}} {count}\n'
            f'vllm:time_to_first_token_seconds_sum{{model_name="m"}} {total}\n'
            "# TYPE vllm:request_success counter\n"
            f'vllm:request_success_total{{finished_reason="length",model_name="m"}} {count}\n'
        )

    view = server_view(None, [scrape(0, text(4, 0.4, 4)), scrape(9, text(14, 2.4, 10))])
    assert view.requests_ok == 10
    assert view.ttft_mean_s == 0.2
    assert view.ttft_histogram == {"0.1": 6.0, "+Inf": 10.0}


def test_one_scrape_gives_an_empty_view() -> None:
    view = server_view("ensemble", [scrape(0, TRITON_BEFORE)])
    assert view.requests_ok is None
    assert view.running == []


# trtllm-serve's families as its collector declares them (TensorRT-LLM,
# tensorrt_llm/metrics/collector.py): type and the labels beyond model_name and engine_type.
TRTLLM_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "trtllm_request_success_total": ("counter", ("finished_reason",)),
    "trtllm_request_error_total": ("counter", ("http_code",)),
    "trtllm_request_queue_time_seconds": ("histogram", ()),
    "trtllm_time_to_first_token_seconds": ("histogram", ()),
    "trtllm_time_per_output_token_seconds": ("histogram", ()),
    "trtllm_num_requests_running": ("gauge", ()),
    "trtllm_num_requests_waiting": ("gauge", ()),
    "trtllm_kv_cache_utilization": ("gauge", ()),
}
TRTLLM_LABELS = {"model_name": "undefined", "engine_type": "undefined"}  # as trtllm-serve sets


class TrtllmServe:
    """A registry holding trtllm-serve's families, exposed by prometheus_client as the server
    exposes them (counters with `_total` and `_created`, histograms with buckets)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.metrics: dict[str, Any] = {}
        kinds = {"counter": Counter, "histogram": Histogram, "gauge": Gauge}
        for name, (kind, extra) in TRTLLM_FAMILIES.items():
            options = {"buckets": (0.02, 0.04, 0.1, 1.0)} if kind == "histogram" else {}
            self.metrics[name] = kinds[kind](
                name, name, [*TRTLLM_LABELS, *extra], registry=self.registry, **options
            )

    def series(self, name: str, **extra: str) -> Any:
        return self.metrics[name].labels(**TRTLLM_LABELS, **extra)

    def scrape(self, at: int) -> Scrape:
        return scrape(at, generate_latest(self.registry).decode())


def test_every_trtllm_family_the_table_claims_is_mapped() -> None:
    """Before the run: earlier traffic and gauges at rest; during it: known observations. Each
    `trtllm_*` family in FAMILIES must be one of trtllm-serve's and give its figure here."""
    server = TrtllmServe()
    server.series("trtllm_request_success_total", finished_reason="length").inc(4)
    server.series("trtllm_request_error_total", http_code="400").inc(1)
    for name, (kind, _) in TRTLLM_FAMILIES.items():
        if kind == "histogram":
            server.series(name).observe(9.0)  # before the run: not in its figures
    server.series("trtllm_num_requests_running").set(0)
    server.series("trtllm_num_requests_waiting").set(1)
    server.series("trtllm_kv_cache_utilization").set(0.1)
    before = server.scrape(0)

    server.series("trtllm_request_success_total", finished_reason="length").inc(7)
    server.series("trtllm_request_success_total", finished_reason="stop").inc(3)
    server.series("trtllm_request_error_total", http_code="400").inc(1)
    server.series("trtllm_request_error_total", http_code="500").inc(1)
    for seconds in (0.1, 0.3):
        server.series("trtllm_request_queue_time_seconds").observe(seconds)
    for seconds in (0.02, 0.03, 0.04):
        server.series("trtllm_time_to_first_token_seconds").observe(seconds)
    for seconds in (0.01, 0.03):
        server.series("trtllm_time_per_output_token_seconds").observe(seconds)
    server.series("trtllm_num_requests_running").set(5)
    server.series("trtllm_num_requests_waiting").set(2)
    server.series("trtllm_kv_cache_utilization").set(0.6)
    view = server_view(None, [before, server.scrape(7)])

    expected: dict[str, object] = {
        "trtllm_request_success_total": 10.0,
        "trtllm_request_error_total": 2.0,
        "trtllm_request_queue_time_seconds": pytest.approx(0.2),
        "trtllm_time_to_first_token_seconds": pytest.approx(0.03),
        "trtllm_time_per_output_token_seconds": pytest.approx(0.02),
        "trtllm_num_requests_running": [(0, 0.0), (7, 5.0)],
        "trtllm_num_requests_waiting": [(0, 1.0), (7, 2.0)],
        "trtllm_kv_cache_utilization": [(0, 0.1), (7, 0.6)],
    }
    claimed = {family.name: family for family in FAMILIES if family.name.startswith("trtllm_")}
    assert set(claimed) <= set(TRTLLM_FAMILIES)  # no name trtllm-serve does not expose
    assert set(claimed) == set(expected)  # every family the table reads is checked here
    for name, family in claimed.items():
        assert getattr(view, family.figure) == expected[name], name
    assert view.ttft_histogram == {"0.02": 1.0, "0.04": 3.0, "0.1": 3.0, "1.0": 3.0, "+Inf": 3.0}
    assert view.compute_time_s_mean is None  # trtllm-serve has no such figure
