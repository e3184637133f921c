"""Normalising Prometheus expositions of Triton and vLLM into one server view."""

from __future__ import annotations

from crossfade.bench.server_metrics import Scrape, parse_samples, server_view

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
