"""The Prometheus metric families Triton and its LLM backends export (metrics port 8002), each
with the upstream file that defines or documents it. Every name the rendered PromQL reads must
be one of these; `family()` refuses any other.

Labels: `model` and `version` on all of them; `nv_trt_llm_*` add one sub-label naming the value.
Histograms expose `_bucket{le}`, `_count` and `_sum`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

_GITHUB = "https://github.com/triton-inference-server"
TRITON_CORE = f"{_GITHUB}/server/blob/e1db8a6/docs/user_guide/metrics.md"
VLLM_BACKEND = f"{_GITHUB}/vllm_backend/blob/8de0c14/src/utils/metrics.py"
TRTLLM_BACKEND = (
    f"{_GITHUB}/tensorrtllm_backend/blob/c2e65b88/"
    "inflight_batcher_llm/src/custom_metrics_reporter/custom_metrics_reporter.cc"
)
# The tensorrt_llm model's outputs: per-request timestamps (return_perf_metrics) are response
# tensors, and nothing per token goes to Prometheus.
TRTLLM_OUTPUTS = (
    f"{_GITHUB}/tensorrtllm_backend/blob/c2e65b88/"
    "all_models/inflight_batcher_llm/tensorrt_llm/config.pbtxt"
)

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class MetricFamily:
    name: str
    kind: Kind
    source: str
    note: str = ""


def _families(source: str, kind: Kind, *names: str, note: str = "") -> list[MetricFamily]:
    return [MetricFamily(name, kind, source, note) for name in names]


FAMILIES: tuple[MetricFamily, ...] = (
    # Triton core, for every backend.
    *_families(
        TRITON_CORE,
        "counter",
        "nv_inference_request_success",
        "nv_inference_request_failure",  # reason: REJECTED, CANCELED, BACKEND, OTHER
        "nv_inference_count",
        "nv_inference_exec_count",
        "nv_inference_request_duration_us",
        "nv_inference_queue_duration_us",
        "nv_inference_compute_input_duration_us",
        "nv_inference_compute_infer_duration_us",
        "nv_inference_compute_output_duration_us",
        "nv_energy_consumption",
    ),
    *_families(TRITON_CORE, "gauge", "nv_inference_pending_request_count"),
    *_families(
        TRITON_CORE,
        "histogram",
        "nv_inference_first_response_histogram_ms",
        note="off unless tritonserver runs with --metrics-config histogram_latencies=true",
    ),
    *_families(
        TRITON_CORE,
        "gauge",
        "nv_gpu_utilization",
        "nv_gpu_memory_total_bytes",
        "nv_gpu_memory_used_bytes",
        "nv_gpu_power_usage",
        "nv_gpu_power_limit",
        "nv_cpu_utilization",
        "nv_cpu_memory_total_bytes",
        "nv_cpu_memory_used_bytes",
        "nv_pinned_memory_pool_total_bytes",
        "nv_pinned_memory_pool_used_bytes",
    ),
    # Triton's vLLM backend, only with REPORT_CUSTOM_METRICS; no gauges.
    *_families(VLLM_BACKEND, "counter", "vllm:prompt_tokens_total", "vllm:generation_tokens_total"),
    *_families(
        VLLM_BACKEND,
        "histogram",
        "vllm:time_to_first_token_seconds",
        # vLLM's own OpenAI server names this one vllm:inter_token_latency_seconds.
        "vllm:time_per_output_token_seconds",
        "vllm:e2e_request_latency_seconds",
        "vllm:request_prompt_tokens",
        "vllm:request_generation_tokens",
        "vllm:request_params_n",
    ),
    # Triton's TensorRT-LLM backend: state, no latency or error signal.
    *_families(
        TRTLLM_BACKEND,
        "gauge",
        "nv_trt_llm_request_metrics",
        "nv_trt_llm_runtime_memory_metrics",
        "nv_trt_llm_kv_cache_block_metrics",
        "nv_trt_llm_inflight_batcher_metrics",
        "nv_trt_llm_v1_metrics",
        "nv_trt_llm_general_metrics",
    ),
    *_families(TRTLLM_BACKEND, "counter", "nv_trt_llm_disaggregated_serving_metrics"),
    *_families(TRTLLM_BACKEND, "histogram", "nv_llm_output_token_len", "nv_llm_input_token_len"),
)
KNOWN = {f.name: f for f in FAMILIES}


def family(name: str) -> MetricFamily:
    """The family called `name`; a KeyError for a name no Triton backend exports."""
    return KNOWN[name]
