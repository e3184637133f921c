"""Both Triton repositories from one spec, each in its own folder."""

from __future__ import annotations

from typing import Literal

from crossfade.render.tree import RenderedTree
from crossfade.render.triton_llmapi import render_llmapi
from crossfade.render.triton_trtllm import render_trtllm
from crossfade.render.triton_vllm import render_vllm
from crossfade.spec.models import Spec
from crossfade.spec.tensorrtllm import TensorRTLLMApi, TensorRTLLMEngine

TRTLLM_FOLDER = "tensorrtllm"
VLLM_FOLDER = "vllm"


def render_triton(spec: Spec) -> RenderedTree:
    """`tensorrtllm/` and `vllm/` model repositories, for each backend the spec has: the
    TensorRT-LLM one is the LLM API model, or the legacy engine ensemble (its `layout`)."""
    tree = RenderedTree()
    if spec.tensorrtllm is not None:
        tree.merge(render_backend(spec, "tensorrtllm"), prefix=f"{TRTLLM_FOLDER}/")
    if spec.vllm is not None:
        tree.merge(render_backend(spec, "vllm"), prefix=f"{VLLM_FOLDER}/")
    return tree


def render_notes(spec: Spec) -> list[str]:
    """What a render took that the spec did not say, in plain sentences."""
    trt = spec.tensorrtllm
    if isinstance(trt, TensorRTLLMEngine) and trt.layout_inferred:
        return [
            "tensorrtllm: engine_dir given and no layout: rendering the legacy engine layout "
            "(TensorRT-LLM removed the engine backend after 1.3.0rc20); set layout: engine to "
            "say so, or move to the LLM API model (docs/tensorrt-llm.md)"
        ]
    return []


def render_backend(spec: Spec, backend: Literal["tensorrtllm", "vllm"]) -> RenderedTree:
    """One backend's repository, as it goes in its folder."""
    if backend == "vllm":
        return render_vllm(spec)
    trt = spec.tensorrtllm
    return render_llmapi(trt) if isinstance(trt, TensorRTLLMApi) else render_trtllm(spec)
