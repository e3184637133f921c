"""What crossfade and the projection worker say to each other: one `WorkerRequest` as JSON on
the worker's stdin, one `WorkerReply` as JSON on its stdout. Both sides validate with these
models (the worker runs crossfade from the same checkout in the projection environment), so
the boundary is typed in both directions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crossfade.project.model import Library, Precision, ProjectedPoint

DatabaseBackend = Literal["trtllm", "vllm"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkerBackend(_Frozen):
    backend: DatabaseBackend
    tensor_parallel: int = Field(ge=1)
    pipeline_parallel: int = Field(ge=1)


class WorkerRequest(_Frozen):
    contract: Literal[1] = 1  # the shape of both messages; a change makes it 2
    model_dir: str  # a folder holding only the model's config.json
    system: str  # the library's system name, e.g. h100_sxm
    gemm_quant: str  # the library's GEMM quantization mode, e.g. bfloat16, fp8
    kv_cache_quant: str  # bfloat16 or fp8
    input_len: int = Field(ge=1)
    output_len: int = Field(ge=1)
    concurrency: list[int] = Field(min_length=1)
    backends: list[WorkerBackend] = Field(min_length=1)


class WorkerBackendReply(_Frozen):
    backend: DatabaseBackend
    database_version: str
    precision: Precision | None
    points: list[ProjectedPoint]


Unsupported = Literal["system", "model", "quantization"]


class WorkerRefusal(_Frozen):
    """What the library's databases do not cover, and what they do."""

    what: Unsupported
    asked: str
    supported: list[str]
    backend: DatabaseBackend | None = None  # when only one backend lacks it


class WorkerReply(_Frozen):
    contract: Literal[1] = 1  # the shape of both messages; a change makes it 2
    library: Library
    refusal: WorkerRefusal | None = None  # set: nothing was projected
    backends: list[WorkerBackendReply] = []
