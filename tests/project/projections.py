"""Projections built by hand for the pure tests: the figures are chosen, not projected."""

from __future__ import annotations

from collections.abc import Mapping

from crossfade.project.crossover import crossovers
from crossfade.project.model import (
    Backend,
    BackendProjection,
    HfConfigSource,
    Library,
    PointFigures,
    Precision,
    ProjectedPoint,
    Projection,
    ProjectionInputs,
)
from crossfade.spec.models import Quantization

# concurrency -> output tokens/s per GPU (None: not projected there)
Series = Mapping[int, float | None]


def backend(name: Backend, throughput: Series, gpus: int = 1) -> BackendProjection:
    """`name` with the given throughput per GPU at each concurrency; TTFT and TPOT follow from
    it (the faster backend answers sooner), so every metric leads the same way."""
    points = [point(level, value, gpus) for level, value in throughput.items()]
    projected = any(p.figures is not None for p in points)
    return BackendProjection(
        backend=name,
        database_backend="trtllm" if name == "tensorrtllm" else "vllm",
        database_version="test",
        tensor_parallel=gpus,
        pipeline_parallel=1,
        parallelism_from="test",
        precision=Precision(gemm="fp8", kv_cache="fp8", attention="bfloat16")
        if projected
        else None,
        points=points,
    )


def point(concurrency: int, per_gpu: float | None, gpus: int = 1) -> ProjectedPoint:
    if per_gpu is None:
        return ProjectedPoint(concurrency=concurrency, figures=None, failure="OOM: too big")
    figures = PointFigures(
        ttft_ms=100_000 / per_gpu,
        tpot_ms=concurrency * 1000 / (per_gpu * gpus),
        e2e_ms=1.0,
        output_token_throughput=per_gpu * gpus,
        output_token_throughput_per_gpu=per_gpu,
        output_tokens_per_s_per_user=per_gpu * gpus / concurrency,
        memory_gb=1.0,
    )
    return ProjectedPoint(concurrency=concurrency, figures=figures)


def projection(
    tensorrtllm: Series,
    vllm: Series,
    *,
    gpus: int = 1,
    input_len: int = 1024,
    output_len: int = 256,
    quantization: Quantization = "fp8",
) -> Projection:
    """A whole projection of both backends, its crossovers computed as `crossfade project`
    computes them."""
    trt_side, vllm_side = backend("tensorrtllm", tensorrtllm, gpus), backend("vllm", vllm, gpus)
    inputs = ProjectionInputs(
        spec="crossfade.yaml",
        model="llama",
        hf_config=HfConfigSource(
            path="config.json", shipped=False, sha256="0" * 64, architecture="LlamaForCausalLM"
        ),
        gpu="H100",
        system="h100_sxm",
        quantization=quantization,
        quantization_from="--quantization",
        kv_cache_dtype="fp8",
        kv_cache_dtype_from="--kv-cache-dtype",
        input_len=input_len,
        output_len=output_len,
        concurrency=sorted({*tensorrtllm, *vllm}),
    )
    library = Library(version="0.12.0", core_version="0.12.0", database_mode="SILICON")
    return Projection(
        inputs=inputs,
        library=library,
        backends=[trt_side, vllm_side],
        crossovers=crossovers(trt_side, vllm_side),
    )
