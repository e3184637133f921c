"""The parts of a saved result (`results.BenchResult`): the target and what its server said about
itself, the run's configuration, how the run went, and the machine it ran on. Every part is
closed: a key it does not know is refused, so a file from another schema or edited by hand fails
on load, naming the field, instead of deep inside a reader."""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, TypeAdapter, ValidationError

from crossfade import __version__
from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.workload import WorkloadFacts
from crossfade.saved import first_problem


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# time.time() seconds, from 1970 to the end of the last year a date is written for (9999).
UnixTime = Annotated[float, Field(ge=0, lt=253_402_300_800)]


class _ServerHeader(Part):
    """What every client's `server_info()` starts with (which target, protocol and dialect),
    and `error` when the server could not be asked the rest."""

    target: str
    url: str
    dialect: str
    model: str
    server_version: str | None = None
    error: str | None = None


class OpenAIServerInfo(_ServerHeader):
    """From `/models` (and vLLM's `/version`)."""

    protocol: Literal["openai"]
    served_models: list[str] | None = None
    owned_by: str | None = None
    max_model_len: int | None = None


class TritonServerInfo(_ServerHeader):
    """From Triton's server metadata, the model's metadata and its config."""

    protocol: Literal["triton-http", "triton-grpc"]
    server: str | None = None  # Triton's name for itself ("triton")
    model_versions: list[str] | None = None
    platform: str | None = None  # "ensemble", "python", ...
    backend: str | None = None
    max_batch_size: int | None = None
    decoupled: bool | None = None
    parameters: dict[str, str | None] | None = None  # the config's string parameters
    crossfade_emulated: bool = False  # crossfade's TensorRT-LLM emulator, not TensorRT-LLM
    ensemble_steps: list[str | None] | None = None  # an ensemble's models, in order


ServerInfo = Annotated[OpenAIServerInfo | TritonServerInfo, Field(discriminator="protocol")]
_SERVER_INFO: TypeAdapter[ServerInfo] = TypeAdapter(ServerInfo)
_HEADER = ("target", "url", "protocol", "dialect", "model")


def read_server_info(raw: Mapping[str, Any]) -> ServerInfo:
    """A client's `server_info()` as its model. What a server answered is outside crossfade's
    control: an answer that does not fit is kept as the `error`, never fails the run."""
    try:
        return _SERVER_INFO.validate_python(raw)
    except ValidationError as exc:
        header = {key: raw[key] for key in _HEADER if key in raw}
        error = f"the server's description of itself was not understood: {first_problem(exc)}"
        return _SERVER_INFO.validate_python({**header, "error": error})


class TargetInfo(Part):
    url: str  # the target's canonical URL
    server: ServerInfo


class ShardFacts(Part):
    """This run was shard `index` of `count` (`crossfade bench --shard`) of the run `plan`."""

    index: int
    count: int
    start_at_unix: FiniteFloat | None  # --start-at, when given
    plan: LoadPlan  # the whole run's, before the split


class MergedShards(Part):
    """The shards `crossfade merge` made this result from."""

    count: int
    merged: list[int]
    missing: list[int]  # merged without them (--allow-missing)
    start_at_unix: FiniteFloat | None
    folders: list[str]  # as given to merge


class SweepSlot(Part):
    """Where a sweep's run sits in the sweep (`bench.sweep`)."""

    level: float
    repeat: int
    order: int


class RunConfig(Part):
    plan: LoadPlan  # what this process ran (a shard's share of the whole plan)
    plan_label: str
    shard: ShardFacts | None = None
    shards: MergedShards | None = None
    sweep: SweepSlot | None = None
    slos: list[str]  # as `Slo` prints them; `slo.parse_slo` reads them back
    metrics_url: str
    workers: int  # processes that sent the load (for a merged result, all the pods')
    workload: WorkloadFacts


class ClockOffsets(Part):
    """`session.wall_minus_monotonic_ns` when the run started and ended."""

    start: int
    end: int


class ShardRun(Part):
    """One shard of a merged result, as the merge placed it."""

    index: int
    folder: str
    host: str | None
    records: int
    stop_reason: StopReason
    shift_ns: int  # added to its times to put them on the merged clock
    clock_moved_ns: int  # its wall-minus-monotonic offset at the end minus at the start
    started_wall_ns: int | None  # None: it recorded no request


class RunInfo(Part):
    """How the run went. Times are the measuring process's perf_counter_ns, except
    `started_at_unix`; the records were summarised over [measure_start_ns, end_ns]."""

    started_at_unix: UnixTime
    start_ns: int
    measure_start_ns: int
    end_ns: int
    # None in results saved before shards existed (a shard's merge needs it).
    wall_minus_monotonic_ns: ClockOffsets | None
    stop_reason: StopReason
    records: int
    measured_records: int
    warmup_records: int
    notes: list[str]
    shards: list[ShardRun] | None = None  # a merged result's shards


class Environment(Part):
    """The client machine (of a merged result: the first shard's; `RunInfo.shards` has each
    shard's host)."""

    crossfade_version: str
    host: str
    cpu_count: int | None
    python: str
    platform: str
    # The event loop the requests were sent from ('uvloop' for every command; several, comma
    # separated, if worker processes differed). None in results saved before it was recorded.
    event_loop: str | None = None


def environment(event_loop: str | None = None) -> Environment:
    return Environment(
        event_loop=event_loop,
        crossfade_version=__version__,
        host=socket.gethostname(),
        cpu_count=os.cpu_count(),
        python=platform.python_version(),
        platform=platform.platform(),
    )
