"""The shards of one run as `crossfade merge` reads them: one pod's saved result each
(`load_shard`), and the checks that a set of them is the shards of one run (`check_shards`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from crossfade.bench.plan import LoadPlan
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.results import BenchResult, load_records, load_result
from crossfade.bench.workers import share_plan
from crossfade.errors import CrossfadeError


class MergeError(CrossfadeError):
    """Results that are not the shards of one run; the message names the folders."""


@dataclass(frozen=True)
class ShardResult:
    """One pod's saved result, as `merge_shards` needs it."""

    folder: Path
    result: BenchResult
    records: list[RequestRecord]
    index: int
    count: int
    whole_plan: LoadPlan  # the run's plan before the split
    clock_start_ns: int  # wall_minus_monotonic_ns when the pod started and ended its run
    clock_end_ns: int
    start_at_unix: float | None  # --start-at, when given

    @property
    def fingerprint(self) -> str:
        return self.result.config.workload.fingerprint

    def started_wall_ns(self) -> int:
        return self.result.run.start_ns + self.clock_start_ns

    def ended_wall_ns(self) -> int:
        return self.result.run.end_ns + self.clock_start_ns


def load_shard(folder: Path) -> ShardResult:
    result = load_result(folder)
    shard, clock = result.config.shard, result.run.wall_minus_monotonic_ns
    if shard is None:
        raise MergeError(
            f"{folder}: not a shard (config.shard is missing); merge combines the results of "
            "`crossfade bench --shard I/N`, one per pod"
        )
    if clock is None:  # every shard's result has it: only an edited one lacks it
        raise MergeError(
            f"{folder}: result.json is not a readable shard (run.wall_minus_monotonic_ns missing)"
        )
    try:
        records = load_records(folder if folder.is_dir() else folder.parent)
    except OSError as exc:
        raise MergeError(
            f"{folder}: its records cannot be read ({exc.strerror or exc}); a shard's folder "
            "holds result.json and requests.jsonl as `crossfade bench --shard` saved them"
        ) from None
    return ShardResult(
        folder,
        result,
        records,
        shard.index,
        shard.count,
        shard.plan,
        clock.start,
        clock.end,
        shard.start_at_unix,
    )


def check_shards(shards: Sequence[ShardResult], allow_missing: bool = False) -> list[int]:
    """Refuse what is not the shards of one run; return the indices of missing shards (refused
    unless `allow_missing`)."""
    if not shards:
        raise MergeError("no results to merge")
    first = shards[0]
    for other in shards[1:]:
        _same(first, other, "ran different workloads", lambda s: s.fingerprint, "fingerprints")
        _same(first, other, "measured different targets", lambda s: s.result.target.url)
        _same(first, other, "were split differently", lambda s: s.count, "shard counts")
        _same(first, other, "ran different plans", lambda s: s.whole_plan.model_dump(), "plans")
        _same(first, other, "measured different SLOs", lambda s: s.result.config.slos)
    seen: dict[int, ShardResult] = {}
    for shard in shards:
        if not 0 <= shard.index < shard.count:
            raise MergeError(f"{shard.folder}: shard index {shard.index} of {shard.count}")
        if shard.index in seen:
            raise MergeError(
                f"shard {shard.index}/{shard.count} given twice: {seen[shard.index].folder} "
                f"and {shard.folder}"
            )
        seen[shard.index] = shard
        expected, _ = share_plan(shard.whole_plan, shard.index, shard.count)
        if shard.result.config.plan != expected:
            raise MergeError(
                f"{shard.folder}: config.plan is not shard {shard.index}'s share of "
                f"{shard.whole_plan.describe()}; was the result edited?"
            )
    missing = [i for i in range(first.count) if i not in seen]
    if missing and not allow_missing:
        names = ", ".join(f"{i}/{first.count}" for i in missing)
        raise MergeError(
            f"shard {names} missing (given: {', '.join(str(s.folder) for s in shards)}); "
            "pass every pod's result, or --allow-missing to merge without it"
        )
    return missing


def _same(
    a: ShardResult, b: ShardResult, what: str, key: Callable[[ShardResult], object], named: str = ""
) -> None:
    left, right = key(a), key(b)
    if left == right:
        return
    if isinstance(left, dict) and isinstance(right, dict):  # only what differs
        differ = sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))
        left, right = ({k: side.get(k) for k in differ} for side in (left, right))
    detail = f" ({named} {left} and {right})" if named else ""
    raise MergeError(f"{a.folder} and {b.folder} {what}{detail}: they are not shards of one run")
