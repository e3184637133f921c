"""The projection worker: `python -m crossfade.project.worker`, run by crossfade in the
projection environment (.venv-projection, where AIConfigurator and its numpy 2 live). It reads
one `WorkerRequest` on stdin, asks the library for every point, and writes one `WorkerReply`
on stdout; the library's logs and prints go to stderr. This is the only module that imports
AIConfigurator, and nothing in crossfade imports this module."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from crossfade.project.contract import (
    DatabaseBackend,
    WorkerBackend,
    WorkerBackendReply,
    WorkerRefusal,
    WorkerReply,
    WorkerRequest,
)
from crossfade.project.model import Library, PointFigures, Precision, ProjectedPoint

# Measured kernels only: no speed-of-light or empirical fill-in for what was not measured.
DATABASE_MODE = "SILICON"


def main() -> int:
    request = WorkerRequest.model_validate_json(sys.stdin.read())
    logging.getLogger("aiconfigurator").setLevel(logging.WARNING)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the reply alone
        reply = project(request)
    sys.stdout.write(reply.model_dump_json() + "\n")
    return 0


def project(request: WorkerRequest) -> WorkerReply:
    library = Library(
        version=metadata.version("aiconfigurator"),
        core_version=metadata.version("aiconfigurator-core"),
        database_mode=DATABASE_MODE,
    )
    refusal = _refuse_model(Path(request.model_dir))
    if refusal is not None:
        return WorkerReply(library=library, refusal=refusal)
    versions: dict[DatabaseBackend, str] = {}
    for backend in request.backends:
        version = _database_version(request.system, backend.backend)
        refusal = (
            _refuse_system(request)
            if version is None
            else _refuse_quantization(request, backend.backend, version)
        )
        if refusal is not None:
            return WorkerReply(library=library, refusal=refusal)
        versions[backend.backend] = str(version)
    replies = [_project_backend(request, b, versions[b.backend]) for b in request.backends]
    return WorkerReply(library=library, backends=replies)


def _refuse_model(model_dir: Path) -> WorkerRefusal | None:
    from aiconfigurator_core.sdk.common import ARCHITECTURE_TO_MODEL_FAMILY

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    architecture = str(config["architectures"][0])
    if architecture in ARCHITECTURE_TO_MODEL_FAMILY:
        return None
    return WorkerRefusal(
        what="model", asked=architecture, supported=sorted(ARCHITECTURE_TO_MODEL_FAMILY)
    )


def _refuse_system(request: WorkerRequest) -> WorkerRefusal:
    """The systems with a database for every backend asked (listed only on this path: the
    listing walks every system's folders)."""
    from aiconfigurator_core.sdk.perf_database import get_supported_databases

    databases: dict[str, dict[str, list[str]]] = get_supported_databases()
    wanted = [b.backend for b in request.backends]
    covered = sorted(s for s, backends in databases.items() if all(b in backends for b in wanted))
    return WorkerRefusal(what="system", asked=request.system, supported=covered)


def _database_version(system: str, backend: DatabaseBackend) -> str | None:
    """The release the library projects by default: its "current" database for this system and
    backend, as it resolves that alias (its default, "latest", is the same under its version
    slots, found by walking every system's folders); None: no database."""
    from aiconfigurator_core.sdk.perf_database import resolve_query_version

    try:
        return str(resolve_query_version(system, backend, "current"))
    except ValueError:  # "no queryable versions defined for ..."
        return None


def _refuse_quantization(
    request: WorkerRequest, backend: DatabaseBackend, version: str
) -> WorkerRefusal | None:
    from aiconfigurator_core.sdk.perf_database import get_database_view

    database = get_database_view(
        request.system,
        backend,
        version,
        allow_missing_data=False,
        database_mode=DATABASE_MODE,
    )
    modes = sorted(str(mode) for mode in database.supported_quant_mode["gemm"])
    if request.gemm_quant in modes:
        return None
    return WorkerRefusal(
        what="quantization", asked=request.gemm_quant, supported=modes, backend=backend
    )


def _project_backend(
    request: WorkerRequest, backend: WorkerBackend, version: str
) -> WorkerBackendReply:
    points: list[ProjectedPoint] = []
    precision: Precision | None = None
    for concurrency in request.concurrency:
        try:
            result = _estimate(request, backend, version, concurrency)
        except Exception as exc:  # the library's refusal of this point, recorded with it
            points.append(
                ProjectedPoint(concurrency=concurrency, figures=None, failure=_first(exc))
            )
            continue
        raw: dict[str, Any] = result.raw
        precision = precision or Precision(
            gemm=str(raw["gemm"]), kv_cache=str(raw["kvcache"]), attention=str(raw["fmha"])
        )
        points.append(
            ProjectedPoint(
                concurrency=concurrency,
                figures=_figures(result),
                warning=result.kv_cache_warning,
            )
        )
    return WorkerBackendReply(
        backend=backend.backend, database_version=version, precision=precision, points=points
    )


def _estimate(
    request: WorkerRequest, backend: WorkerBackend, version: str, concurrency: int
) -> Any:
    from aiconfigurator.cli.api import cli_estimate

    # Aggregated serving (in-flight batching), `concurrency` requests in flight.
    return cli_estimate(
        model_path=request.model_dir,
        system_name=request.system,
        mode="agg",
        backend_name=backend.backend,
        backend_version=version,
        database_mode=DATABASE_MODE,
        isl=request.input_len,
        osl=request.output_len,
        batch_size=concurrency,
        tp_size=backend.tensor_parallel,
        pp_size=backend.pipeline_parallel,
        gemm_quant_mode=request.gemm_quant,
        kvcache_quant_mode=request.kv_cache_quant,
    )


def _figures(result: Any) -> PointFigures:
    """The library's EstimateResult in crossfade's names."""
    return PointFigures(
        ttft_ms=float(result.ttft),
        tpot_ms=float(result.tpot),
        e2e_ms=float(result.request_latency),
        output_token_throughput=float(result.tokens_per_second),
        output_token_throughput_per_gpu=float(result.tokens_per_second_per_gpu),
        output_tokens_per_s_per_user=float(result.tokens_per_second_per_user),
        memory_gb=float(result.memory),
    )


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else 'no message'}"


if __name__ == "__main__":
    sys.exit(main())
