"""One projection end to end: the plan -> the worker (in the projection environment) ->
`Projection`, with the crossovers. What the library's databases lack is a `ProjectionError`
naming what they have."""

from __future__ import annotations

from pathlib import Path

from crossfade.project.contract import (
    DatabaseBackend,
    WorkerBackend,
    WorkerBackendReply,
    WorkerRefusal,
    WorkerReply,
    WorkerRequest,
)
from crossfade.project.crossover import crossovers
from crossfade.project.environment import model_folder, run_worker
from crossfade.project.inputs import GEMM_MODES, BackendSetup, ProjectionPlan
from crossfade.project.model import (
    BACKEND_LABELS,
    Backend,
    BackendProjection,
    ProjectedPoint,
    Projection,
    ProjectionError,
)
from crossfade.project.systems import SYSTEMS

DATABASE_BACKENDS: dict[Backend, DatabaseBackend] = {"tensorrtllm": "trtllm", "vllm": "vllm"}


def project(plan: ProjectionPlan, python: Path) -> Projection:
    inputs = plan.inputs
    with model_folder(plan.hf_config.text) as folder:
        request = WorkerRequest(
            model_dir=folder,
            system=inputs.system,
            gemm_quant=plan.gemm_quant,
            kv_cache_quant=inputs.kv_cache_dtype,
            input_len=inputs.input_len,
            output_len=inputs.output_len,
            concurrency=inputs.concurrency,
            backends=[
                WorkerBackend(
                    backend=DATABASE_BACKENDS[setup.backend],
                    tensor_parallel=setup.tensor_parallel,
                    pipeline_parallel=setup.pipeline_parallel,
                )
                for setup in plan.backends
            ],
        )
        reply = run_worker(request, python)
    if reply.refusal is not None:
        raise ProjectionError(refusal_message(reply.refusal, plan))
    backends = [_backend(setup, _reply_for(reply, setup)) for setup in plan.backends]
    _refuse_all_failed(backends)
    return Projection(
        inputs=inputs,
        library=reply.library,
        backends=backends,
        crossovers=crossovers(*backends) if len(backends) == 2 else [],
    )


def _reply_for(reply: WorkerReply, setup: BackendSetup) -> WorkerBackendReply:
    wanted = DATABASE_BACKENDS[setup.backend]
    found = next((b for b in reply.backends if b.backend == wanted), None)
    if found is None:
        raise ProjectionError(f"the projection worker said nothing of {wanted}")
    return found


def _backend(setup: BackendSetup, reply: WorkerBackendReply) -> BackendProjection:
    return BackendProjection(
        backend=setup.backend,
        database_backend=reply.backend,
        database_version=reply.database_version,
        tensor_parallel=setup.tensor_parallel,
        pipeline_parallel=setup.pipeline_parallel,
        parallelism_from=setup.parallelism_from,
        batch_limit=setup.batch_limit,
        precision=reply.precision,
        points=[with_batch_caveat(point, setup) for point in reply.points],
    )


def with_batch_caveat(point: ProjectedPoint, setup: BackendSetup) -> ProjectedPoint:
    """The library runs every request in flight at once; a server capped below that queues the
    rest, which the projection does not model: say so on the point."""
    limit = setup.batch_limit
    if limit is None or point.concurrency <= limit:
        return point
    caveat = (
        f"the spec caps {BACKEND_LABELS[setup.backend]} at {limit} requests at once: a server "
        f"would queue the rest; projected as if all {point.concurrency} ran"
    )
    warning = f"{point.warning}; {caveat}" if point.warning else caveat
    return point.model_copy(update={"warning": warning})


def _refuse_all_failed(backends: list[BackendProjection]) -> None:
    if any(p.figures is not None for b in backends for p in b.points):
        return
    reasons = "; ".join(
        f"{BACKEND_LABELS[b.backend]} (tp {b.tensor_parallel}, pp {b.pipeline_parallel}): "
        + " / ".join(sorted({p.failure or "" for p in b.points}))
        for b in backends
    )
    raise ProjectionError(f"no point could be projected: {reasons}")


def refusal_message(refusal: WorkerRefusal, plan: ProjectionPlan) -> str:
    inputs = plan.inputs
    labels = {db: BACKEND_LABELS[ours] for ours, db in DATABASE_BACKENDS.items()}
    where = f" for {labels[refusal.backend]}" if refusal.backend else ""
    if refusal.what == "system":
        names = {system: " ".join(words) for words, system in SYSTEMS}
        have = ", ".join(f"{names.get(s, s)} ({s})" for s in refusal.supported)
        return (
            f"GPU {inputs.gpu!r} is system {refusal.asked}, for which the projection has no "
            f"database of TensorRT-LLM and vLLM; it has: {have}; give --gpu NAME"
        )
    if refusal.what == "model":
        return (
            f"model config {inputs.hf_config.path}: architecture {refusal.asked} is not one "
            f"the projection models; it models: {', '.join(refusal.supported)}"
        )
    ours = [q for q, mode in GEMM_MODES.items() if mode in refusal.supported]
    return (
        f"quantization {inputs.quantization!r} (from {inputs.quantization_from}; the library's "
        f"GEMM mode {refusal.asked}) has no measured kernels{where} on {inputs.system}; "
        f"measured there: {', '.join(ours) or 'none of crossfade names'} "
        f"(the library's {', '.join(refusal.supported)}); give --quantization"
    )
