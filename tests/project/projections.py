"""Projections built by hand for the pure tests: the figures are chosen, not projected."""

from __future__ import annotations

from collections.abc import Mapping

from crossfade.project.model import (
    Backend,
    BackendProjection,
    PointFigures,
    Precision,
    ProjectedPoint,
)

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
