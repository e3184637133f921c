"""What a projection is asked, read from the spec (GPU, each backend's parallelism, the
quantization) and the workload, each with where it came from. Pure: no library here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crossfade.project.hf_config import HfConfig
from crossfade.project.model import (
    Backend,
    KvCacheDtype,
    ProjectionError,
    ProjectionInputs,
)
from crossfade.project.systems import system_for
from crossfade.spec.models import Quantization, Spec
from crossfade.spec.tensorrtllm import TensorRTLLMApi

# The spec's quantization -> the library's GEMM mode. FP8 is per-tensor with dynamic
# activation scales (vLLM's `quantization: fp8`); AWQ and GPTQ checkpoints are 4-bit
# weight-only, which the library models as int4_wo where its database has that kernel.
GEMM_MODES: dict[Quantization, str] = {
    "none": "bfloat16",
    "fp8": "fp8",
    "nvfp4": "nvfp4",
    "awq": "int4_wo",
    "gptq": "int4_wo",
}
# vLLM's `quantization` engine argument -> the spec's word for the checkpoint's.
VLLM_QUANTIZATION: dict[str, Quantization] = {
    "fp8": "fp8",
    "modelopt": "fp8",
    "modelopt_fp4": "nvfp4",
    "awq": "awq",
    "awq_marlin": "awq",
    "gptq": "gptq",
    "gptq_marlin": "gptq",
}
MAX_LEVELS = 32  # concurrency levels in one projection (each is one estimate per backend)
MAX_TOKENS = 1_048_576  # input or output length


@dataclass(frozen=True)
class Workload:
    input_len: int
    output_len: int
    concurrency: list[int]


@dataclass(frozen=True)
class BackendSetup:
    backend: Backend
    tensor_parallel: int
    pipeline_parallel: int
    parallelism_from: str
    batch_limit: int | None = None  # requests the spec lets it run at once (its own section)


@dataclass(frozen=True)
class ProjectionPlan:
    inputs: ProjectionInputs
    backends: list[BackendSetup]
    hf_config: HfConfig

    @property
    def gemm_quant(self) -> str:
        return GEMM_MODES[self.inputs.quantization]


def plan_projection(
    spec: Spec,
    spec_path: str,
    hf_config: HfConfig,
    workload: Workload,
    *,
    gpu: str | None = None,
    quantization: Quantization | None = None,
    kv_cache_dtype: KvCacheDtype | None = None,
) -> ProjectionPlan:
    """Everything the worker is asked, checked; `gpu`, `quantization` and `kv_cache_dtype`
    replace what the spec says (from --gpu, --quantization, --kv-cache-dtype)."""
    _check_workload(workload)
    if gpu is not None:
        system = system_for(gpu, "--gpu")
    elif spec.gpu is not None:
        system, gpu = system_for(spec.gpu, f"{spec_path}: gpu:"), spec.gpu
    else:
        raise ProjectionError(f"{spec_path} names no gpu: give --gpu NAME (e.g. --gpu H100)")
    quant, quant_from = _quantization(spec, quantization)
    kv, kv_from = _kv_cache_dtype(spec, kv_cache_dtype)
    inputs = ProjectionInputs(
        spec=spec_path,
        model=spec.model.name,
        hf_config=hf_config.source,
        gpu=gpu,
        system=system,
        quantization=quant,
        quantization_from=quant_from,
        kv_cache_dtype=kv,
        kv_cache_dtype_from=kv_from,
        input_len=workload.input_len,
        output_len=workload.output_len,
        concurrency=sorted(set(workload.concurrency)),
    )
    return ProjectionPlan(inputs=inputs, backends=backend_setups(spec), hf_config=hf_config)


def _check_workload(workload: Workload) -> None:
    for flag, value in (("--input-len", workload.input_len), ("--output-len", workload.output_len)):
        if not 1 <= value <= MAX_TOKENS:
            raise ProjectionError(f"{flag} {value}: give a token count from 1 to {MAX_TOKENS:,}")
    if not workload.concurrency or len(set(workload.concurrency)) > MAX_LEVELS:
        raise ProjectionError(
            f"--concurrency: give 1 to {MAX_LEVELS} levels, got {len(set(workload.concurrency))}"
        )


def backend_setups(spec: Spec) -> list[BackendSetup]:
    """Both backends, each with the parallelism of its own section of the spec; a backend the
    spec does not serve (or TensorRT-LLM's engine layout, whose tp is in the engine) takes the
    other's, so the two are projected on the same GPUs. The batch limit (TensorRT-LLM's
    `max_batch_size`, vLLM's `max_num_seqs`) only from a backend's own section."""
    own: dict[Backend, tuple[Mapping[str, Any], str]] = {}
    limits: dict[Backend, Any] = {}
    if isinstance(spec.tensorrtllm, TensorRTLLMApi):
        own["tensorrtllm"] = (spec.tensorrtllm.llm_args, "tensorrtllm.llm_args")
        limits["tensorrtllm"] = spec.tensorrtllm.llm_args.get("max_batch_size")
    if spec.vllm is not None:
        own["vllm"] = (spec.vllm.engine_args, "vllm.engine_args")
        limits["vllm"] = spec.vllm.engine_args.get("max_num_seqs")
    setups = []
    pairs: tuple[tuple[Backend, Backend], ...] = (("tensorrtllm", "vllm"), ("vllm", "tensorrtllm"))
    for backend, other in pairs:
        args, where = own.get(backend) or own.get(other) or ({}, "")
        if backend not in own:
            where = f"{where} (the spec gives none for {backend})" if where else "default"
        setups.append(
            BackendSetup(
                backend=backend,
                tensor_parallel=int(args.get("tensor_parallel_size", 1)),
                pipeline_parallel=int(args.get("pipeline_parallel_size", 1)),
                parallelism_from=where,
                batch_limit=limits[backend] if isinstance(limits.get(backend), int) else None,
            )
        )
    return setups


def _quantization(spec: Spec, given: Quantization | None) -> tuple[Quantization, str]:
    if given is not None:
        return given, "--quantization"
    if spec.deployment is not None and spec.deployment.quantization is not None:
        return spec.deployment.quantization, "deployment.quantization"
    stated = spec.vllm.engine_args.get("quantization") if spec.vllm is not None else None
    if stated is None:
        return "none", "default (the spec states none)"
    if str(stated) not in VLLM_QUANTIZATION:
        known = ", ".join(VLLM_QUANTIZATION)
        raise ProjectionError(
            f"vllm.engine_args.quantization {stated!r}: no projection equivalent (known: "
            f"{known}); give --quantization none|fp8|nvfp4|awq|gptq"
        )
    return VLLM_QUANTIZATION[str(stated)], "vllm.engine_args.quantization"


def _kv_cache_dtype(spec: Spec, given: KvCacheDtype | None) -> tuple[KvCacheDtype, str]:
    """FP8 when either backend's section asks for an FP8 KV cache, so both are projected with
    the same one; otherwise the model's own precision."""
    if given is not None:
        return given, "--kv-cache-dtype"
    stated: list[tuple[Any, str]] = []
    if spec.vllm is not None:
        stated.append(
            (spec.vllm.engine_args.get("kv_cache_dtype"), "vllm.engine_args.kv_cache_dtype")
        )
    if isinstance(spec.tensorrtllm, TensorRTLLMApi):
        kv_config = spec.tensorrtllm.llm_args.get("kv_cache_config")
        if isinstance(kv_config, Mapping):
            stated.append((kv_config.get("dtype"), "tensorrtllm.llm_args.kv_cache_config.dtype"))
    for value, where in stated:
        if isinstance(value, str) and value.startswith("fp8"):
            return "fp8", where
    return "bfloat16", "default (no FP8 KV cache in the spec)"
