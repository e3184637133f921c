"""`projection.json`: what TensorRT-LLM and vLLM would do on GPUs the team does not have here,
as AIConfigurator projects it from its measured kernel databases. Written by `crossfade
project`; every figure is a projection, never a measurement.

Schema 1."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from crossfade.errors import CrossfadeError
from crossfade.saved import read_model, write_model
from crossfade.spec.models import Quantization

PROJECTION_FILE = "projection.json"
PROJECTION_SCHEMA_VERSION = 1

Backend = Literal["tensorrtllm", "vllm"]  # crossfade's names, as in the spec
BACKEND_LABELS: dict[Backend, str] = {"tensorrtllm": "TensorRT-LLM", "vllm": "vLLM"}
KvCacheDtype = Literal["bfloat16", "fp8"]
# The figures a crossover is drawn on, and which way is better.
ProjectedMetric = Literal["output_token_throughput_per_gpu", "ttft_ms", "tpot_ms"]
BETTER: dict[ProjectedMetric, Literal["higher", "lower"]] = {
    "output_token_throughput_per_gpu": "higher",
    "ttft_ms": "lower",
    "tpot_ms": "lower",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointFigures(_Frozen):
    """One backend at one concurrency, as the library projects it (steady state, every request
    `input_len` tokens in and `output_len` out)."""

    ttft_ms: float  # time to first token
    tpot_ms: float  # time per output token after the first
    e2e_ms: float  # a whole request
    output_token_throughput: float  # output tokens/s, all GPUs of one replica
    output_token_throughput_per_gpu: float
    output_tokens_per_s_per_user: float
    memory_gb: float  # per GPU: weights, KV cache and activations


class ProjectedPoint(_Frozen):
    concurrency: int
    figures: PointFigures | None  # None: the library could not project this point
    failure: str | None = None  # why not (e.g. the model does not fit at this batch)
    warning: str | None = None  # the library's caveat (e.g. more requests than KV cache)

    @model_validator(mode="after")
    def _figures_or_failure(self) -> ProjectedPoint:
        if (self.figures is None) == (self.failure is None):
            raise ValueError("a point has either figures or a failure")
        return self

    def value(self, metric: ProjectedMetric) -> float | None:
        return None if self.figures is None else float(getattr(self.figures, metric))


class Precision(_Frozen):
    """The kernels' precision as the library resolved it (its own names)."""

    gemm: str
    kv_cache: str
    attention: str


class BackendProjection(_Frozen):
    backend: Backend
    database_backend: str  # the library's name: trtllm, vllm
    database_version: str  # the release whose kernels were measured, e.g. 1.3.0rc20
    tensor_parallel: int
    pipeline_parallel: int
    parallelism_from: str  # the spec section it was read from
    batch_limit: int | None = None  # the spec's cap on requests run at once, when it sets one
    precision: Precision | None  # None when no point could be projected
    points: list[ProjectedPoint]

    @property
    def gpus(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel

    @property
    def label(self) -> str:
        return f"{BACKEND_LABELS[self.backend]} (projected)"

    def point(self, concurrency: int) -> ProjectedPoint | None:
        return next((p for p in self.points if p.concurrency == concurrency), None)


class HfConfigSource(_Frozen):
    """The Hugging Face config.json the model's architecture was read from."""

    path: str  # as given, or the shipped file's name
    shipped: bool  # one of the configs crossfade ships for its example specs
    sha256: str
    architecture: str


class ProjectionInputs(_Frozen):
    spec: str  # the spec file, as given
    model: str  # the spec's model name
    hf_config: HfConfigSource
    gpu: str  # as named (the spec's gpu or --gpu)
    system: str  # the library's system, e.g. h100_sxm
    quantization: Quantization
    quantization_from: str  # --quantization, deployment.quantization, ...
    kv_cache_dtype: KvCacheDtype
    kv_cache_dtype_from: str
    input_len: int
    output_len: int
    concurrency: list[int]


class Library(_Frozen):
    name: Literal["aiconfigurator"] = "aiconfigurator"
    version: str
    core_version: str
    database_mode: str  # SILICON: measured kernels only


class ProjectedCrossover(_Frozen):
    """From which concurrency one backend is ahead on a metric at every higher one."""

    metric: ProjectedMetric
    better: Literal["higher", "lower"]
    leader: Backend | None  # ahead at the highest concurrency; None: even there, or failed
    from_concurrency: int | None  # the lowest concurrency from which `leader` stays ahead
    overtakes: bool  # the other backend was ahead somewhere below `from_concurrency`
    note: str


class Projection(_Frozen):
    schema_version: int = PROJECTION_SCHEMA_VERSION
    inputs: ProjectionInputs
    library: Library
    backends: list[BackendProjection]
    crossovers: list[ProjectedCrossover]

    def backend(self, backend: Backend) -> BackendProjection | None:
        return next((b for b in self.backends if b.backend == backend), None)


class ProjectionError(CrossfadeError):
    """A projection that cannot be made as asked, or a projection.json that cannot be read."""


def save_projection(folder: Path, projection: Projection) -> Path:
    return write_model(folder / PROJECTION_FILE, projection)


def load_projection(path: Path) -> Projection:
    """Read projection.json, or the folder holding it."""
    file = path / PROJECTION_FILE if path.is_dir() else path
    return read_model(
        file,
        Projection,
        version=PROJECTION_SCHEMA_VERSION,
        error=ProjectionError,
        missing="no projection here (written by `crossfade project`)",
        stale="project it again with `crossfade project`",
    )
