"""The decision flow for today's backends as data: questions about the deployment, the edges
that answer them, and the leaves that recommend a backend with their reason and its source.

TensorRT-LLM's PyTorch backend (the default since 1.0, the only one after 1.3.0rc20) loads a
Hugging Face checkpoint as vLLM does, so the seed article's operational questions (an engine
pipeline, model churn, a mixed GPU fleet) no longer tell the backends apart. What still does:
whether each backend supports the model's architecture and reads the checkpoint's quantization
(operational), then the load and a latency target (rules of thumb that measurement overrides).

Two entries. A team with no engines starts at ROOT and never meets an engine question. A team
that serves the legacy engine ensemble starts at LEGACY_ROOT, whose "no" leads into the same
flow. Every leaf is reachable: see tests/advise/test_rules.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from crossfade.advise import sources
from crossfade.spec.models import SHARED_FORMATS, VLLM_ONLY_FORMATS, Deployment

Recommendation = Literal["vllm", "tensorrtllm", "either"]
# Simplest first: when a missing fact leaves several answers open, advise takes the first.
SIMPLEST_FIRST: tuple[Recommendation, ...] = ("vllm", "either", "tensorrtllm")
# For a team on engines the nearest answer is the same backend without engines.
NEAREST_FIRST: tuple[Recommendation, ...] = ("tensorrtllm", "either", "vllm")
RECOMMENDATION_NAMES: dict[Recommendation, str] = {
    "vllm": "vLLM",
    "tensorrtllm": "TensorRT-LLM",
    "either": "either (no clear winner; vLLM is the simpler to run)",
}
HIGH_CONCURRENCY = 32  # where the seed article says TensorRT-LLM's lead starts to show


def name_of(recommendation: Recommendation) -> str:
    """The recommendation's short name: "either", not its explanation."""
    return RECOMMENDATION_NAMES[recommendation].split(" (")[0]


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
    # A question: the order advise takes the answers still open when its fact is missing.
    unstated: tuple[Recommendation, ...] = SIMPLEST_FIRST
    recommendation: Recommendation | None = None  # leaves only
    rule_of_thumb: bool = False  # leaves only: a speed claim that measurement may override
    rationale: str = ""  # leaves only: why, in a few sentences
    source: str = ""  # leaves only: where the facts behind the rationale are published
    headline: str = ""  # leaves only: a line under the recommendation, when it needs one
    # The answer fixes what a measurement measured (the load, the weights): evidence taken
    # under one answer says nothing under another.
    conditions_measurement: bool = False

    @property
    def is_leaf(self) -> bool:
        return not self.edges


def _leaf(
    node_id: str,
    text: str,
    recommendation: Recommendation,
    rationale: str,
    source: str,
    *,
    speed: bool,
    headline: str = "",
) -> Node:
    return Node(
        node_id,
        text,
        recommendation=recommendation,
        rule_of_thumb=speed,
        rationale=rationale,
        source=source,
        headline=headline,
    )


def _trtllm_supports(facts: Deployment) -> bool:
    return facts.model_support in ("both", "tensorrtllm_only")


def _has_latency_target(facts: Deployment) -> bool:
    return facts.ttft_p99_target_ms is not None or facts.itl_p99_target_ms is not None


LEGACY_FLOW: tuple[Node, ...] = (
    Node(
        "engines",
        "Does the team serve TensorRT-LLM engines (the legacy ensemble) today?",
        asks="tensorrtllm_runs_engines",
        edges=(
            Edge("yes", "engine_model", lambda f: f.tensorrtllm_runs_engines is True),
            Edge("no", "support", lambda f: f.tensorrtllm_runs_engines is False),
        ),
    ),
    Node(
        "engine_model",
        "Does TensorRT-LLM's PyTorch backend support the model's architecture?",
        asks="model_support",
        unstated=NEAREST_FIRST,
        edges=(
            Edge("yes", "migrate_llmapi", _trtllm_supports),
            Edge("vLLM only", "legacy_to_vllm", lambda f: f.model_support == "vllm_only"),
        ),
    ),
    _leaf(
        "migrate_llmapi",
        "TensorRT-LLM: move the engines to the LLM API model",
        "tensorrtllm",
        "TensorRT-LLM 1.3.0rc20 is the last release that runs a TensorRT engine, and the Triton "
        "C++ backend behind the inflight_batcher_llm ensemble left the code in July 2026: an "
        "engine deployment is held to containers that no longer move forward. The LLM API model "
        "serves the same model on the PyTorch backend, straight from its Hugging Face "
        "checkpoint, so it is the shortest way off the engines. Run it beside the ensemble, "
        "canary from one to the other, and keep vLLM ready as the fallback.",
        f"{sources.LAST_ENGINE_RELEASE}; {sources.CPP_BACKEND_REMOVED}; {sources.BACKEND_REMOVAL}",
        speed=False,
        headline="Move the engine ensemble to TensorRT-LLM's LLM API model (no engine build).",
    ),
    _leaf(
        "legacy_to_vllm",
        "vLLM: the engines' model has no PyTorch-backend support",
        "vllm",
        "The engines cannot follow TensorRT-LLM past 1.3.0rc20, and the PyTorch backend that "
        "replaces them does not list this architecture, while vLLM does: the way off the "
        "engines leads to vLLM. Run it beside the ensemble and canary from one to the other.",
        f"{sources.LAST_ENGINE_RELEASE}; {sources.TRTLLM_MODELS}; {sources.VLLM_MODELS}",
        speed=False,
        headline="Move the engine ensemble to vLLM.",
    ),
)
FLOW_TODAY: tuple[Node, ...] = (
    Node(
        "support",
        "Which backends support the model's architecture?",
        asks="model_support",
        edges=(
            Edge("both", "checkpoint", lambda f: f.model_support == "both"),
            Edge("vLLM only", "vllm_only", lambda f: f.model_support == "vllm_only"),
            Edge(
                "TensorRT-LLM only", "trtllm_only", lambda f: f.model_support == "tensorrtllm_only"
            ),
        ),
    ),
    _leaf(
        "vllm_only",
        "vLLM: only vLLM supports the model",
        "vllm",
        "TensorRT-LLM's PyTorch backend has no implementation of this architecture on its "
        "supported-models list; vLLM has one, so vLLM is the backend that can serve it.",
        f"{sources.TRTLLM_MODELS}; {sources.VLLM_MODELS}",
        speed=False,
    ),
    _leaf(
        "trtllm_only",
        "TensorRT-LLM: only TensorRT-LLM supports the model",
        "tensorrtllm",
        "vLLM's supported-models list has no implementation of this architecture and "
        "TensorRT-LLM's PyTorch backend has one, so TensorRT-LLM's LLM API model serves it.",
        f"{sources.TRTLLM_MODELS}; {sources.VLLM_MODELS}",
        speed=False,
    ),
    Node(
        "checkpoint",
        "Which quantization does the checkpoint carry?",
        asks="quantization",
        conditions_measurement=True,
        edges=(
            Edge("AWQ or GPTQ", "vllm_awq_gptq", lambda f: f.quantization in VLLM_ONLY_FORMATS),
            Edge("none, FP8 or NVFP4", "load", lambda f: f.quantization in SHARED_FORMATS),
        ),
    ),
    _leaf(
        "vllm_awq_gptq",
        "vLLM: an AWQ or GPTQ checkpoint",
        "vllm",
        "vLLM loads AWQ and GPTQ checkpoints as they are. TensorRT-LLM's PyTorch backend reads "
        "the quantization of ModelOpt checkpoints and of Hugging Face FP8, NVFP4, MXFP4 and "
        "compressed-tensors configs, not AutoAWQ's or GPTQ's: serving this model there means "
        "quantizing it again with ModelOpt first.",
        f"{sources.VLLM_QUANT_HARDWARE}; {sources.TRTLLM_QUANT_CONFIG}; {sources.QUANTIZATION}",
        speed=False,
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
        f"The seed article places TensorRT-LLM's lead at large batches; below about "
        f"{HIGH_CONCURRENCY} requests in flight the two backends differ little, and vLLM is "
        "the simpler of the two to run.",
        sources.ARTICLE,
        speed=True,
    ),
    Node(
        "latency",
        "Is there a p99 latency target (TTFT or ITL)?",
        edges=(
            Edge("yes", "trtllm_latency", _has_latency_target),
            Edge("no", "either_throughput", lambda f: not _has_latency_target(f)),
        ),
    ),
    _leaf(
        "trtllm_latency",
        "TensorRT-LLM: latency under high load",
        "tensorrtllm",
        f"Under high load TensorRT-LLM kept first-token latency lower in a published comparison "
        f"of today's releases, which is headroom under a p99 target: TTFT 235 ms against 514 ms "
        f"for vLLM at {HIGH_CONCURRENCY} concurrent requests (Llama-3.1-8B on one H100, "
        "TensorRT-LLM 1.2.1, vLLM 0.23).",
        sources.RUNINFRA,
        speed=True,
    ),
    _leaf(
        "either_throughput",
        "Either: published throughput results disagree",
        "either",
        "With no latency target the question is output per GPU, and published results point "
        "both ways: TensorRT-LLM about 13% ahead at 50 concurrent requests (Llama-3.3-70B FP8, "
        "one H100, TensorRT-LLM 1.2.0), vLLM ahead at saturation (Llama-3.1-8B, one H100, "
        "TensorRT-LLM 1.2.1). The seed article's 10-30% lead for TensorRT-LLM is a rule of "
        "thumb: a measurement at your load decides.",
        f"{sources.SPHERON}; {sources.RUNINFRA}; {sources.ARTICLE}",
        speed=True,
    ),
)
FLOW: tuple[Node, ...] = LEGACY_FLOW + FLOW_TODAY
NODES: dict[str, Node] = {node.id: node for node in FLOW}
ROOT = "support"  # a team with no engines starts here
LEGACY_ROOT = "engines"  # a team that serves engines today starts here


def entry(facts: Deployment) -> str:
    """Where the flow starts for these facts: the legacy question only for a team on engines."""
    return LEGACY_ROOT if facts.tensorrtllm_runs_engines is True else ROOT


def reachable(root: str) -> list[Node]:
    """The nodes reachable from `root`, in the flow's order."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        node = NODES[todo.pop()]
        if node.id not in seen:
            seen.add(node.id)
            todo += [edge.to for edge in node.edges]
    return [node for node in FLOW if node.id in seen]
