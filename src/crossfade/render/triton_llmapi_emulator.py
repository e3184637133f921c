"""The lab's emulated LLM API model: upstream's config.pbtxt tensors, crossfade's emulator code.

The model is named `tensorrt_llm_llmapi`, not upstream's `tensorrt_llm`: in a repository of the
legacy layout `tensorrt_llm` is the engine's name, and the lab gives no emulator the name of a
real TensorRT-LLM model; the name says which layout it imitates. It is marked emulated as the
engine emulator is (the `crossfade_emulated` parameter) and runs the same timing model, read
from the lab spec's `tensorrtllm.emulator` (the shared batching core beside its model.py).
Decoupled is set in config.pbtxt; the real model takes it from model.yaml's `triton_config`.
"""

from __future__ import annotations

from crossfade.render import triton_models
from crossfade.render.pbtxt import param_string, set_parameters, to_text
from crossfade.render.tree import RenderedTree
from crossfade.render.triton_llmapi import llmapi_config
from crossfade.render.triton_trtllm import EMULATED_PARAMETER, emulator_parameters
from crossfade.spec.models import Spec
from crossfade.spec.tensorrtllm import TensorRTLLMEngine

EMULATED_LLMAPI = "tensorrt_llm_llmapi"


def render_llmapi_emulator(spec: Spec) -> RenderedTree:
    """The emulated LLM API model's folder, from a lab spec (the engine layout with an emulator:
    its timing model, and the tokenizer the ensemble uses)."""
    backend = spec.tensorrtllm
    if not isinstance(backend, TensorRTLLMEngine) or backend.emulator is None:
        raise ValueError("the spec has no tensorrtllm.emulator section")
    config = llmapi_config(EMULATED_LLMAPI, 1)
    config.model_transaction_policy.decoupled = True
    parameters: dict[str, str | bool | int | float] = {
        EMULATED_PARAMETER: True,
        "tokenizer_dir": backend.tokenizer_dir or spec.model.tokenizer,
        **emulator_parameters(backend.emulator),
    }
    set_parameters(config, {key: param_string(value) for key, value in parameters.items()})
    tree = RenderedTree()
    tree.add(f"{EMULATED_LLMAPI}/config.pbtxt", to_text(config))
    for relpath, text in triton_models.emulator_files(triton_models.LLMAPI_EMULATOR).items():
        tree.add(f"{EMULATED_LLMAPI}/{relpath}", text)
    return tree
