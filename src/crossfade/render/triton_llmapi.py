"""TensorRT-LLM's LLM API model: `tensorrt_llm/config.pbtxt`, `tensorrt_llm/1/model.yaml`, and a
note of where model.py and helpers.py come from.

config.pbtxt holds only what upstream's does (name, python backend, instances, inputs and
outputs). `max_batch_size` and the decoupled transaction policy belong in model.yaml's
`triton_config`: the model's `auto_complete_config` sets them from there, and a value already
set in config.pbtxt could not be changed by it. The model's code is upstream's and ships in the
serving container; crossfade renders the files that configure it, never the code.
"""

from __future__ import annotations

from typing import Any

import yaml

from crossfade.render import tensors
from crossfade.render.pbtxt import add_instance_group, add_tensors, new_config, to_text
from crossfade.render.tree import RenderedTree
from crossfade.spec.tensorrtllm import TensorRTLLMApi

MODEL_YAML_HEADER = (
    "# Rendered by crossfade from a spec; edit the spec and render again.\n"
    "# Every key but triton_config is a keyword argument of tensorrt_llm.LLM.\n"
)
# Beside config.pbtxt: Triton reads neither, and lint reads this one.
MODEL_FILES_NOTE = "MODEL_FILES.md"
# The model's code in `1/`, upstream's, copied from the serving container (never rendered).
MODEL_CODE = ("model.py", "helpers.py")


def render_llmapi(backend: TensorRTLLMApi) -> RenderedTree:
    name = backend.triton_model_name
    tree = RenderedTree()
    tree.add(f"{name}/config.pbtxt", to_text(_config(backend)))
    tree.add(f"{name}/1/model.yaml", model_yaml_text(backend))
    tree.add(f"{name}/{MODEL_FILES_NOTE}", model_files_note(backend))
    tree.provided.update(f"{name}/1/{code}" for code in MODEL_CODE)
    return tree


def model_yaml_text(backend: TensorRTLLMApi) -> str:
    body = yaml.safe_dump(backend.model_yaml(), sort_keys=False, default_flow_style=False)
    return MODEL_YAML_HEADER + body


def model_files_note(backend: TensorRTLLMApi) -> str:
    return (
        f"# {backend.triton_model_name}: model.py and helpers.py\n\n"
        "This model runs TensorRT-LLM's own `model.py` and `helpers.py` (the LLM API model), "
        "which crossfade does not render. Copy both into `1/` from the serving container "
        f"({backend.image}), where they are in `{backend.model_files}`; or take them from "
        "NVIDIA/TensorRT-LLM `triton_backend/all_models/llmapi/tensorrt_llm/1/` at the tag of "
        "the container's `tensorrt_llm` version. `crossfade render k8s` copies them in an init "
        "container.\n"
    )


def llmapi_config(name: str, instances: int) -> Any:
    """The LLM API model's config.pbtxt as upstream's: python backend, CPU instances, and its
    inputs and outputs (the lab's emulated twin starts from this too)."""
    config = new_config(name=name, backend="python")
    add_instance_group(config, instances, "KIND_CPU")
    add_tensors(config.input, tensors.LLMAPI_INPUTS, {}, is_input=True)
    add_tensors(config.output, tensors.LLMAPI_OUTPUTS, {}, is_input=False)
    return config


def _config(backend: TensorRTLLMApi) -> Any:
    config = llmapi_config(backend.triton_model_name, backend.instance_count)
    if backend.gpu_device_ids is not None:
        value = ";".join(",".join(str(gpu) for gpu in group) for group in backend.gpu_device_ids)
        config.parameters["gpu_device_ids"].string_value = value
    return config
