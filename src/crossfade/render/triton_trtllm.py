"""The TensorRT-LLM in-flight batching repository: preprocessing, tensorrt_llm, postprocessing,
ensemble and tensorrt_llm_bls, with every structural field filled from the spec.

String parameters are set from the spec or left out on purpose (the spec field is unset), so the
backend's documented default applies; nothing is ever left as a ``${var}`` placeholder.
"""

from __future__ import annotations

from typing import Any

from crossfade.render import tensors, triton_models
from crossfade.render.pbtxt import (
    add_instance_group,
    add_tensors,
    model_config_module,
    new_config,
    param_string,
    set_parameters,
    to_text,
)
from crossfade.render.tree import RenderedTree
from crossfade.spec.models import Spec
from crossfade.spec.tensorrtllm import EngineEmulator, TensorRTLLMEngine

ENSEMBLE = "ensemble"
BLS = "tensorrt_llm_bls"
ENGINE = "tensorrt_llm"
# The emulator's name says what it is, wherever it shows (URLs, metrics, reports).
EMULATED_ENGINE = "tensorrt_llm_emulator"
EMULATED_PARAMETER = "crossfade_emulated"


def engine_model_name(backend: TensorRTLLMEngine) -> str:
    return EMULATED_ENGINE if backend.emulator is not None else ENGINE


def render_trtllm(spec: Spec) -> RenderedTree:
    backend = spec.tensorrtllm
    if not isinstance(backend, TensorRTLLMEngine):
        raise ValueError("the spec has no tensorrtllm section of the engine layout")
    tokenizer = backend.tokenizer_dir or spec.model.tokenizer
    datatypes: dict[str, str] = {
        tensors.LOGITS_DATATYPE: backend.logits_datatype,
        tensors.ENCODER_INPUT_FEATURES_DATATYPE: backend.encoder_input_features_data_type,
        tensors.PROMPT_EMBEDDING_TABLE_DATATYPE: backend.prompt_embedding_table_data_type,
    }
    engine = engine_model_name(backend)
    tree = RenderedTree()
    configs = {
        "preprocessing": _preprocessing(backend, tokenizer, datatypes),
        engine: _tensorrt_llm(backend, datatypes),
        "postprocessing": _postprocessing(backend, tokenizer, datatypes),
        ENSEMBLE: _ensemble(backend, datatypes),
        BLS: _bls(backend, datatypes),
    }
    if backend.emulator is not None:
        for name in (engine, ENSEMBLE, BLS):
            configs[name].parameters[EMULATED_PARAMETER].string_value = "true"
    sources = {
        "preprocessing": triton_models.PREPROCESSING,
        "postprocessing": triton_models.POSTPROCESSING,
        BLS: triton_models.BLS,
    }
    for name, config in configs.items():
        tree.add(f"{name}/config.pbtxt", to_text(config))
        tree.folders.add(f"{name}/1")
        if name in sources:
            tree.add(f"{name}/1/model.py", triton_models.model_source(sources[name]))
    if backend.emulator is not None:
        for relpath, text in triton_models.emulator_files(triton_models.ENGINE_EMULATOR).items():
            tree.add(f"{engine}/{relpath}", text)
    return tree


def _queueing(config: Any, backend: TensorRTLLMEngine) -> None:
    config.dynamic_batching.max_queue_delay_microseconds = backend.max_queue_delay_microseconds
    config.dynamic_batching.default_queue_policy.max_queue_size = backend.max_queue_size


def _preprocessing(backend: TensorRTLLMEngine, tokenizer: str, datatypes: dict[str, str]) -> Any:
    return _tokenizer_model(
        "preprocessing",
        (tensors.PREPROCESSING_INPUTS, tensors.PREPROCESSING_OUTPUTS),
        backend,
        {"tokenizer_dir": tokenizer, "add_special_tokens": backend.add_special_tokens},
        backend.instances.preprocessing,
        datatypes,
    )


def _postprocessing(backend: TensorRTLLMEngine, tokenizer: str, datatypes: dict[str, str]) -> Any:
    return _tokenizer_model(
        "postprocessing",
        (tensors.POSTPROCESSING_INPUTS, tensors.POSTPROCESSING_OUTPUTS),
        backend,
        {"tokenizer_dir": tokenizer, "skip_special_tokens": backend.skip_special_tokens},
        backend.instances.postprocessing,
        datatypes,
    )


def _tokenizer_model(
    name: str,
    io: tuple[tuple[tensors.Tensor, ...], tuple[tensors.Tensor, ...]],
    backend: TensorRTLLMEngine,
    parameters: dict[str, str | bool | None],
    count: int,
    datatypes: dict[str, str],
) -> Any:
    """Pre- and postprocessing: python models that run the tokenizer on CPU instances."""
    config = new_config(name=name, backend="python", max_batch_size=backend.triton_max_batch_size)
    _queueing(config, backend)
    add_tensors(config.input, io[0], datatypes, is_input=True)
    add_tensors(config.output, io[1], datatypes, is_input=False)
    set_parameters(
        config, {key: param_string(value) for key, value in parameters.items() if value is not None}
    )
    add_instance_group(config, count, "KIND_CPU")
    return config


def tensorrt_llm_parameters(backend: TensorRTLLMEngine) -> dict[str, str]:
    """The `tensorrt_llm` model's parameters: set ones only, so unset ones keep the default."""
    chosen: dict[str, str | bool | int | float | None] = {
        "gpt_model_type": backend.batching_strategy,
        "gpt_model_path": backend.engine_dir,
        "batch_scheduler_policy": backend.batch_scheduler_policy,
        "kv_cache_free_gpu_mem_fraction": backend.kv_cache_free_gpu_mem_fraction,
        "max_tokens_in_paged_kv_cache": backend.max_tokens_in_paged_kv_cache,
        "enable_chunked_context": backend.enable_chunked_context,
        "enable_kv_cache_reuse": backend.enable_kv_cache_reuse,
        "exclude_input_in_output": backend.exclude_input_in_output,
        "gpu_device_ids": (
            ",".join(str(i) for i in backend.gpu_device_ids) if backend.gpu_device_ids else None
        ),
    }
    if backend.triton_backend == "tensorrtllm":
        # The C++ backend copies inputs to the GPU itself; upstream ships this as "no".
        chosen["FORCE_CPU_ONLY_INPUT_TENSORS"] = "no"
    chosen.update(backend.parameters)
    if backend.emulator is not None:
        chosen.update(emulator_parameters(backend.emulator))
    return {key: param_string(value) for key, value in chosen.items() if value is not None}


def emulator_parameters(emulator: EngineEmulator) -> dict[str, str | bool | int | float]:
    """The emulator's timing model as `emulator_*` parameters, read by its model.py."""
    return {f"emulator_{key}": value for key, value in emulator.model_dump().items()}


def _tensorrt_llm(backend: TensorRTLLMEngine, datatypes: dict[str, str]) -> Any:
    config = new_config(
        name=engine_model_name(backend),
        backend=backend.triton_backend,
        max_batch_size=backend.triton_max_batch_size,
    )
    config.model_transaction_policy.decoupled = backend.decoupled
    config.dynamic_batching.preferred_batch_size.append(backend.triton_max_batch_size)
    _queueing(config, backend)
    add_tensors(config.input, tensors.TENSORRT_LLM_INPUTS, datatypes, is_input=True)
    add_tensors(config.output, tensors.TENSORRT_LLM_OUTPUTS, datatypes, is_input=False)
    set_parameters(config, tensorrt_llm_parameters(backend))
    add_instance_group(config, 1, "KIND_CPU")
    return config


def _ensemble(backend: TensorRTLLMEngine, datatypes: dict[str, str]) -> Any:
    engine = engine_model_name(backend)
    config = new_config(
        name=ENSEMBLE, platform="ensemble", max_batch_size=backend.triton_max_batch_size
    )
    add_tensors(config.input, tensors.ENSEMBLE_INPUTS, datatypes, is_input=True)
    add_tensors(config.output, tensors.ENSEMBLE_OUTPUTS, datatypes, is_input=False)
    pb = model_config_module()
    for step in tensors.ENSEMBLE_STEPS:
        name = engine if step.model_name == ENGINE else step.model_name
        entry = pb.ModelEnsembling.Step(model_name=name, model_version=-1)
        for key, value in step.input_map:
            entry.input_map[key] = value
        for key, value in step.output_map:
            entry.output_map[key] = value
        config.ensemble_scheduling.step.append(entry)
    return config


def _bls(backend: TensorRTLLMEngine, datatypes: dict[str, str]) -> Any:
    config = new_config(name=BLS, backend="python", max_batch_size=backend.triton_max_batch_size)
    config.model_transaction_policy.decoupled = backend.decoupled
    add_tensors(config.input, tensors.BLS_INPUTS, datatypes, is_input=True)
    add_tensors(config.output, tensors.BLS_OUTPUTS, datatypes, is_input=False)
    set_parameters(
        config,
        {
            "accumulate_tokens": param_string(backend.accumulate_tokens),
            "tensorrt_llm_model_name": engine_model_name(backend),
        },
    )
    add_instance_group(config, backend.instances.bls, "KIND_CPU")
    return config
