"""The seed article's decision flowchart as data: questions about the deployment, the edges
that answer them, and the leaves that recommend a backend with their reason.

Operational constraints come first (engine pipeline, model churn, GPU fleet, checkpoint format),
because each one makes TensorRT-LLM's engine builds cost more than its speed gains; the speed
rules of thumb (build-time quantization, concurrency, latency targets) come last, and only they
may be overridden by measurement. Every leaf is reachable: see tests/advise/test_rules.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from crossfade.spec.models import BUILD_TIME_FORMATS, PREQUANTIZED_FORMATS, Deployment

Recommendation = Literal["vllm", "tensorrtllm", "either"]
# Simplest first: when a missing fact leaves several answers open, advise takes the first.
SIMPLEST_FIRST: tuple[Recommendation, ...] = ("vllm", "either", "tensorrtllm")
RECOMMENDATION_NAMES: dict[Recommendation, str] = {
    "vllm": "vLLM",
    "tensorrtllm": "TensorRT-LLM",
    "either": "either (little difference; vLLM is the simpler to run)",
}
HIGH_CONCURRENCY = 32  # where the seed article says TensorRT-LLM's lead starts to show


@dataclass(frozen=True)
class Edge:
    label: str  # the answer, as the diagram shows it
    to: str  # node id
    when: Callable[[Deployment], bool]


@dataclass(frozen=True)
class Node:
    id: str
    text: str  # a question, or for a leaf its outcome
    asks: str | None = None  # the Deployment field the question reads (None: always answerable)
    edges: tuple[Edge, ...] = ()
    recommendation: Recommendation | None = None  # leaves only
    rule_of_thumb: bool = False  # leaves only: a speed claim that measurement may override
    rationale: str = ""  # leaves only: why, with the published figure behind it
    # The answer fixes what a measurement measured (the load, the weights): evidence taken
    # under one answer says nothing under another.
    conditions_measurement: bool = False

    @property
    def is_leaf(self) -> bool:
        return not self.edges


def _leaf(
    node_id: str, text: str, recommendation: Recommendation, rationale: str, *, speed: bool
) -> Node:
    return Node(
        node_id, text, recommendation=recommendation, rule_of_thumb=speed, rationale=rationale
    )


def _frequent(facts: Deployment) -> bool:
    return facts.model_updates in ("daily", "weekly")


def _has_latency_target(facts: Deployment) -> bool:
    return facts.ttft_p99_target_ms is not None or facts.itl_p99_target_ms is not None


FLOW: tuple[Node, ...] = (
    Node(
        "pipeline",
        "Can the team build and stamp TensorRT-LLM engines in CI?",
        asks="engine_pipeline",
        edges=(
            Edge("no", "vllm_no_pipeline", lambda f: f.engine_pipeline is False),
            Edge("yes", "updates", lambda f: f.engine_pipeline is True),
        ),
    ),
    _leaf(
        "vllm_no_pipeline",
        "vLLM: no engine pipeline",
        "vllm",
        "TensorRT-LLM serves only an engine built for one GPU type and one TensorRT-LLM "
        "version; without a pipeline that builds and stamps engines, every model, GPU or "
        "container change is a manual build. vLLM loads the Hugging Face checkpoint directly.",
        speed=False,
    ),
    Node(
        "updates",
        "How often does the model change?",
        asks="model_updates",
        edges=(
            Edge("daily or weekly", "vllm_frequent_updates", _frequent),
            Edge("monthly or less often", "fleet", lambda f: not _frequent(f)),
        ),
    ),
    _leaf(
        "vllm_frequent_updates",
        "vLLM: the model changes too often",
        "vllm",
        "Each model version needs a new engine build and its validation before it serves "
        "(a build took about 28 minutes for Llama-3.3-70B FP8 on one H100, Spheron, Mar 2026); "
        "at weekly changes or faster the builds become the bottleneck, while vLLM serves a new "
        "checkpoint on restart.",
        speed=False,
    ),
    Node(
        "fleet",
        "Is the GPU fleet one GPU type?",
        asks="gpu_fleet",
        edges=(
            Edge("mixed", "vllm_mixed_fleet", lambda f: f.gpu_fleet == "mixed"),
            Edge("uniform", "checkpoint", lambda f: f.gpu_fleet == "uniform"),
        ),
    ),
    _leaf(
        "vllm_mixed_fleet",
        "vLLM: mixed GPU fleet",
        "vllm",
        "An engine runs only on the GPU type it was built for, so even with a pipeline a mixed "
        "fleet multiplies the builds (GPU types x TensorRT-LLM versions) and the stamps to "
        "track; vLLM runs the same checkpoint on every GPU type.",
        speed=False,
    ),
    Node(
        "checkpoint",
        "How are the weights quantized?",
        asks="quantization",
        conditions_measurement=True,
        edges=(
            Edge(
                "pre-quantized AWQ/GPTQ checkpoint",
                "vllm_prequantized",
                lambda f: f.quantization in PREQUANTIZED_FORMATS,
            ),
            Edge(
                "FP8/INT8 at engine build",
                "trtllm_build_quant",
                lambda f: f.quantization in BUILD_TIME_FORMATS,
            ),
            Edge("not quantized", "load", lambda f: f.quantization == "none"),
        ),
    ),
    _leaf(
        "vllm_prequantized",
        "vLLM: pre-quantized checkpoint",
        "vllm",
        "vLLM loads AWQ and GPTQ checkpoints from Hugging Face as they are; TensorRT-LLM has to "
        "convert each one into an engine first, one more build step per checkpoint.",
        speed=False,
    ),
    _leaf(
        "trtllm_build_quant",
        "TensorRT-LLM: quantized at build",
        "tensorrtllm",
        "FP8/INT8 quantization at build time is where TensorRT-LLM shines: the engine is "
        "compiled around the quantized kernels (TensorRT-LLM's perf overview: Llama-3.1-8B FP8 "
        "on one H100, 28,312 output tok/s at ISL/OSL 128/128; an offline maximum-load figure, "
        "not one under a latency SLO).",
        speed=True,
    ),
    Node(
        "load",
        "How many requests are in flight at peak?",
        asks="expected_concurrency",
        conditions_measurement=True,
        edges=(
            Edge(
                f"{HIGH_CONCURRENCY} or more",
                "latency",
                lambda f: (f.expected_concurrency or 0) >= HIGH_CONCURRENCY,
            ),
            Edge(
                f"fewer than {HIGH_CONCURRENCY}",
                "either_low_load",
                lambda f: (f.expected_concurrency or 0) < HIGH_CONCURRENCY,
            ),
        ),
    ),
    _leaf(
        "either_low_load",
        "Either: little difference at small batches",
        "either",
        f"Below about {HIGH_CONCURRENCY} concurrent requests the two backends differ little; "
        "TensorRT-LLM's typical 10-30% lead shows with large batches. vLLM is the simpler of "
        "the two to run.",
        speed=True,
    ),
    Node(
        "latency",
        "Is there a p99 latency target (TTFT or ITL)?",
        edges=(
            Edge("yes", "trtllm_latency", _has_latency_target),
            Edge("no", "trtllm_throughput", lambda f: not _has_latency_target(f)),
        ),
    ),
    _leaf(
        "trtllm_latency",
        "TensorRT-LLM: latency under high load",
        "tensorrtllm",
        f"At {HIGH_CONCURRENCY}+ concurrent requests TensorRT-LLM is typically 10-30% faster "
        "on the same GPU, which is headroom under a p99 target (published: TTFT 235 ms against "
        f"514 ms for vLLM at {HIGH_CONCURRENCY} concurrent, Llama-3.1-8B on one H100, "
        "runinfra.ai, Jun 2026).",
        speed=True,
    ),
    _leaf(
        "trtllm_throughput",
        "TensorRT-LLM: throughput under high load",
        "tensorrtllm",
        f"At {HIGH_CONCURRENCY}+ concurrent requests TensorRT-LLM's typical 10-30% throughput "
        "lead on the same GPU means fewer GPUs for the same load; with no latency target the "
        "gain is cost.",
        speed=True,
    ),
)
NODES: dict[str, Node] = {node.id: node for node in FLOW}
ROOT = "pipeline"
