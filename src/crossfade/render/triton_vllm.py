"""The vLLM backend repository: model.json (engine arguments) and a complete config.pbtxt.

The config spells out what the backend's auto-complete would add (decoupled, max_batch_size 0,
every input and output), so it also loads under ``--disable-auto-complete-config``.
"""

from __future__ import annotations

import json
from typing import Any

from crossfade.render import tensors, triton_models
from crossfade.render.pbtxt import add_instance_group, add_tensors, new_config, to_text
from crossfade.render.tree import RenderedTree
from crossfade.spec.models import Spec, VllmBackend


def render_vllm(spec: Spec) -> RenderedTree:
    backend = spec.vllm
    if backend is None:
        raise ValueError("the spec has no vllm section")
    name = backend.triton_model_name
    tree = RenderedTree()
    tree.add(f"{name}/config.pbtxt", to_text(vllm_config(backend)))
    tree.add(f"{name}/1/model.json", _json(backend.model_json()))
    if backend.lora_adapters:
        tree.add(f"{name}/1/multi_lora.json", _json(dict(sorted(backend.lora_adapters.items()))))
    if backend.triton_backend == "python":
        tree.add(f"{name}/1/model.py", triton_models.model_source(triton_models.VLLM_PYTHON))
    return tree


def vllm_config(backend: VllmBackend) -> Any:
    config = new_config(
        name=backend.triton_model_name, backend=backend.triton_backend, max_batch_size=0
    )
    config.model_transaction_policy.decoupled = True
    core_inputs = tensors.without_features(tensors.VLLM_INPUTS, keep=frozenset())
    core_outputs = tensors.without_features(tensors.VLLM_OUTPUTS, keep=frozenset())
    add_tensors(config.input, core_inputs, {}, is_input=True)
    add_tensors(config.output, core_outputs, {}, is_input=False)
    add_instance_group(config, backend.instance_count, backend.instance_kind)
    if backend.report_custom_metrics:
        config.parameters["REPORT_CUSTOM_METRICS"].string_value = "true"
    if backend.health_check:
        config.parameters["ENABLE_VLLM_HEALTH_CHECK"].string_value = "true"
    return config


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"
