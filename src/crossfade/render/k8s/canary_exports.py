"""What each serving layout of the spec exports to Prometheus, and so which canary gates it backs.

- vLLM on Triton (`vllm.triton_backend: vllm` with `report_custom_metrics`): vLLM's engine-side
  `vllm:time_to_first_token_seconds` and `vllm:time_per_output_token_seconds` histograms, plus
  Triton's `nv_inference_*`. Without REPORT_CUSTOM_METRICS, or on crossfade's python model
  (`triton_backend: python`), Triton's `nv_inference_*` only.
- TensorRT-LLM's LLM API model in Triton (`layout: llmapi`): a python-backend model that exports
  nothing of its own (no `nv_trt_llm_*`, which were the C++ backend's, and no per-token
  histogram): Triton's `nv_inference_*` only.
- The legacy engine ensemble (`layout: engine`): Triton's `nv_inference_*` for its entry model,
  and the C++ backend's `nv_trt_llm_*` gauges of state (queue, KV cache, memory), which hold no
  latency and no error signal.
- trtllm-serve (`trtllm_*` at /prometheus/metrics) is no layout of the spec: nothing is rendered
  for it.

TTFT on the TensorRT-LLM side is Triton's `nv_inference_first_response_histogram_ms`, the time
to a request's first response: the first token only when the model streams (`decoupled: true`);
a model that is not decoupled answers once, and its first response is the whole answer.

Errors are Triton's `nv_inference_request_failure` on every side. Triton's python backend, which
runs the vLLM backend and the LLM API model, records a request as failed only when the model's
`execute` fails; both send their answers, errors included, through a response sender after
`execute` has returned, so a failure while generating is not counted: the error gate sees the
requests that failed to start (rejected, cancelled, a model whose process died), not those.
"""

from __future__ import annotations

from crossfade.render.k8s.common import Backend, Context
from crossfade.render.k8s.promql import (
    TRITON_FIRST_RESPONSE,
    VLLM_ITL,
    VLLM_TTFT,
    Histogram,
    Side,
    model_matcher,
    series_matchers,
)
from crossfade.render.k8s.traffic import TRTLLM_ENTRY_MODELS
from crossfade.spec.tensorrtllm import TensorRTLLMApi

LLMAPI = "TensorRT-LLM's LLM API model in Triton"
ENSEMBLE = "the legacy TensorRT-LLM engine ensemble"
NOT_DECOUPLED = (
    "tensorrtllm.decoupled is false, so the model answers once and Triton's first-response "
    "histogram times the whole answer, not the first token"
)


def side_of(ctx: Context, backend: Backend, labels: dict[str, str]) -> Side:
    """`backend`'s series, selected by `labels` (namespace, job, backend) and by the Triton
    models a request is counted by on that side (one of them only), with what it exports."""
    vllm, trt = ctx.spec.vllm, ctx.spec.tensorrtllm
    assert vllm is not None  # a canary has both (resolve_backends)
    assert trt is not None
    if backend == "vllm":
        matchers = series_matchers(labels, model_matcher((vllm.triton_model_name,)))
        caveat = error_gate_caveat(f"vLLM on Triton ({vllm.triton_backend} backend)")
        if vllm.triton_backend == "python":
            why = "crossfade's python-backend vLLM model exports no vllm:* metrics"
        elif not vllm.report_custom_metrics:
            why = "vllm:* metrics need REPORT_CUSTOM_METRICS (vllm.report_custom_metrics: true)"
        else:
            layout = "vLLM on Triton (vllm backend, vllm:* metrics)"
            return Side(backend, layout, matchers, VLLM_TTFT, VLLM_ITL, {}, (caveat,))
        layout = f"vLLM on Triton ({vllm.triton_backend} backend, nv_inference_* only)"
        missing = {"ttft": why, "itl": why}
        return Side(backend, layout, matchers, None, None, missing, (caveat,))
    if isinstance(trt, TensorRTLLMApi):
        layout = LLMAPI
        models: tuple[str, ...] = (trt.triton_model_name,)  # one model, no ensemble around it
        no_itl = (
            "the LLM API model exports Triton's nv_inference_* only, with no per-token "
            "histogram (and no nv_trt_llm_*: those were the C++ backend's)"
        )
        caveats: tuple[str, ...] = (error_gate_caveat(LLMAPI),)
    else:
        layout = ENSEMBLE
        # The BLS calls the composing models itself, so a request is counted by one only.
        models = TRTLLM_ENTRY_MODELS
        no_itl = (
            "the ensemble's nv_trt_llm_* metrics are gauges of state (queue, KV cache, "
            "memory): no latency, and nothing per token reaches Prometheus"
        )
        caveats = ()
    matchers = series_matchers(labels, model_matcher(models))
    missing = {"itl": no_itl}
    ttft: Histogram | None = TRITON_FIRST_RESPONSE
    if not trt.decoupled:
        ttft, missing["ttft"] = None, NOT_DECOUPLED
    return Side(backend, layout, matchers, ttft, None, missing, caveats)


def error_gate_caveat(layout: str) -> str:
    return (
        f"error-rate-delta on {layout}: Triton's python backend counts a request in "
        "nv_inference_request_failure only when the model's execute() fails, and this model "
        "sends its errors later, while generating, so those are not counted: the gate sees "
        "requests that failed to start (rejected, cancelled, a dead model process)"
    )
