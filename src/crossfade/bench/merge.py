"""The shards of one run (pods of an Indexed Job, each `crossfade bench --shard I/N`) merged into
one result, as if one client had sent the whole load.

Every percentile is computed again from all the pods' raw records, never averaged. Each pod
timed its records on its own monotonic clock; its result says how that clock maps to wall time
(`run.wall_minus_monotonic_ns`), so every record is moved onto the clock of the lowest shard
given (normally shard 0) by the difference of the two pods' mappings. Latencies are differences
of one pod's readings and do not move; what a difference between the pods' wall clocks can
shift is only where one pod's records sit against another's (ordering, the window's ends). That
difference itself is invisible from the pods' own readings, so what is flagged is what can be
seen: a pod whose clock mapping moved during the run (a clock step), and pods that started apart
by their own clocks (one was late, or its clock differs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.results import BenchResult, load_records, load_result, save_result
from crossfade.bench.runner import RunOutcome
from crossfade.bench.session import summarize_outcome
from crossfade.bench.slo import parse_slo
from crossfade.bench.workers import merge as merge_outcomes
from crossfade.bench.workers import share_plan
from crossfade.errors import CrossfadeError

CLOCK_STEP_NS = 1_000_000  # a pod's wall-minus-monotonic moving more than this was stepped
LATE_START_NS = 10_000_000  # a pod starting this long after the first did not start with it


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

    @property
    def start_at_unix(self) -> float | None:
        value = self.result.config["shard"].get("start_at_unix")
        return float(value) if value is not None else None

    @property
    def fingerprint(self) -> object:
        return (self.result.config.get("workload") or {}).get("fingerprint")

    def started_wall_ns(self) -> int:
        return int(self.result.run["start_ns"]) + self.clock_start_ns


@dataclass
class MergedRun:
    result: BenchResult
    records: list[RequestRecord]
    warnings: list[str]  # clock and start problems, also among the result's notes


def load_shard(folder: Path) -> ShardResult:
    result = load_result(folder)
    shard, clock = result.config.get("shard"), result.run.get("wall_minus_monotonic_ns")
    if not isinstance(shard, dict):
        raise MergeError(
            f"{folder}: not a shard (config.shard is missing); merge combines the results of "
            "`crossfade bench --shard I/N`, one per pod"
        )
    try:
        whole = LoadPlan.model_validate(shard["plan"])
        index, count = int(shard["index"]), int(shard["count"])
        if not isinstance(clock, dict):
            raise TypeError("run.wall_minus_monotonic_ns missing")
        start, end = int(clock["start"]), int(clock["end"])
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise MergeError(f"{folder}: result.json is not a readable shard ({exc})") from None
    records = load_records(folder if folder.is_dir() else folder.parent)
    return ShardResult(folder, result, records, index, count, whole, start, end)


def check_shards(shards: Sequence[ShardResult], allow_missing: bool = False) -> list[str]:
    """Refuse what is not the shards of one run; return notes on missing shards (allowed)."""
    if not shards:
        raise MergeError("no results to merge")
    first = shards[0]
    for other in shards[1:]:
        _same(first, other, "ran different workloads", lambda s: s.fingerprint, "fingerprints")
        _same(first, other, "measured different targets", lambda s: s.result.target.get("url"))
        _same(first, other, "were split differently", lambda s: s.count, "shard counts")
        _same(first, other, "ran different plans", lambda s: s.whole_plan.model_dump(), "plans")
        _same(first, other, "measured different SLOs", lambda s: s.result.config.get("slos"))
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
        if shard.result.config.get("plan") != expected.model_dump():
            raise MergeError(
                f"{shard.folder}: config.plan is not shard {shard.index}'s share of "
                f"{shard.whole_plan.describe()}; was the result edited?"
            )
    missing = [i for i in range(first.count) if i not in seen]
    if not missing:
        return []
    names = ", ".join(f"{i}/{first.count}" for i in missing)
    if not allow_missing:
        raise MergeError(
            f"shard {names} missing (given: {', '.join(str(s.folder) for s in shards)}); "
            "pass every pod's result, or --allow-missing to merge without it"
        )
    return [
        f"shard {i}/{first.count} is missing: its share (every {first.count}th request from "
        f"index {i}) is not in this result"
        for i in missing
    ]


def _same(a: ShardResult, b: ShardResult, what: str, key: Any, named: str = "") -> None:
    left, right = key(a), key(b)
    if left == right:
        return
    if isinstance(left, dict) and isinstance(right, dict):  # only what differs
        differ = sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))
        left, right = ({k: side.get(k) for k in differ} for side in (left, right))
    detail = f" ({named} {left} and {right})" if named else ""
    raise MergeError(f"{a.folder} and {b.folder} {what}{detail}: they are not shards of one run")


def clock_warnings(shards: Sequence[ShardResult]) -> list[str]:
    """What can be seen of the pods' clocks: steps during the run, and pods that started apart
    by their own clocks (a pod that was late, or whose clock differs from the others')."""
    started = [s for s in shards if s.records]
    warnings = []
    for shard in started:
        moved = shard.clock_end_ns - shard.clock_start_ns
        if abs(moved) > CLOCK_STEP_NS:
            warnings.append(
                f"shard {shard.index}'s wall clock moved {moved / 1e6:+.1f} ms against its "
                "monotonic clock during the run (a clock step): its records are placed to within "
                f"~{abs(moved) / 1e6:.1f} ms; latencies within a pod are exact, cross-pod "
                "ordering and the window are not"
            )
    if not started:
        return warnings
    first = min(started, key=lambda s: s.started_wall_ns())
    start_ats = {s.start_at_unix for s in started}
    start_at = start_ats.pop() if len(start_ats) == 1 else None
    for shard in started:
        apart = shard.started_wall_ns() - first.started_wall_ns()
        if apart <= LATE_START_NS:
            continue
        lag = shard.started_wall_ns() - round(start_at * 1e9) if start_at is not None else None
        against = f" ({lag / 1e6:+.1f} ms from --start-at)" if lag is not None else ""
        warnings.append(
            f"shard {shard.index} started {apart / 1e6:.1f} ms after shard {first.index} by "
            f"their own clocks{against}: it was late, or its clock differs by ~{apart / 1e6:.1f} "
            "ms; its load did not overlap the others' for that long, and cross-pod ordering is "
            "uncertain by as much (latencies within a pod are exact)"
        )
    return warnings


def start_note(shards: Sequence[ShardResult]) -> list[str]:
    """Shards that started together, all late for --start-at (pods not ready in time)."""
    lags = [
        s.started_wall_ns() - round(at * 1e9)
        for s in shards
        if s.records and (at := s.start_at_unix) is not None
    ]
    if not lags or min(lags) <= LATE_START_NS:
        return []
    return [f"every shard started at least {min(lags) / 1e6:.1f} ms after --start-at"]


def _shifted(record: RequestRecord, shift: int) -> RequestRecord:
    """The record on another clock; 0 means "never happened" and stays 0."""

    def move(value: int) -> int:
        return value + shift if value else 0

    return dataclasses.replace(
        record,
        scheduled_ns=move(record.scheduled_ns),
        sent_ns=move(record.sent_ns),
        first_byte_ns=move(record.first_byte_ns),
        chunk_ns=[move(t) for t in record.chunk_ns],
        end_ns=move(record.end_ns),
    )


def _outcome(shard: ShardResult, shift: int) -> RunOutcome:
    run = shard.result.run
    return RunOutcome(
        records=[_shifted(r, shift) for r in shard.records],
        start_ns=int(run["start_ns"]) + shift,
        end_ns=int(run["end_ns"]) + shift,
        measure_start_ns=int(run["measure_start_ns"]) + shift,
        stop_reason=StopReason(run["stop_reason"]),
    )


def merge_shards(shards: Sequence[ShardResult], allow_missing: bool = False) -> MergedRun:
    """One result from the shards of one run (checked with `check_shards`), on the clock of the
    lowest shard given, summarised from all the records."""
    notes = check_shards(shards, allow_missing)
    ordered = sorted(shards, key=lambda s: s.index)
    reference = ordered[0]
    started = [s for s in ordered if s.records]
    if not started:
        raise MergeError("no shard recorded any request: nothing to merge")
    notes += [f"shard {s.index} recorded no request" for s in ordered if not s.records]
    warnings = clock_warnings(ordered)
    notes += start_note(ordered)
    shifts = {s.index: s.clock_start_ns - reference.clock_start_ns for s in ordered}
    whole = reference.whole_plan
    outcome = merge_outcomes(
        [_outcome(s, shifts[s.index]) for s in started], warmup=whole.warmup_requests > 0
    )
    slos = [parse_slo(text) for text in reference.result.config.get("slos") or []]
    measured, summary = summarize_outcome(outcome, whole, slos)
    notes += [f"shard {s.index}: {note}" for s in ordered for note in s.result.run["notes"]]
    if reference.result.server_metrics is not None:
        notes.append(f"server metrics: shard {reference.index}'s scrapes")
    config = {k: v for k, v in reference.result.config.items() if k != "shard"}
    config |= {
        "plan": whole.model_dump(),
        "plan_label": whole.describe(),
        "workers": sum(int(s.result.config.get("workers", 1)) for s in ordered),
        "shards": {
            "count": reference.count,
            "merged": [s.index for s in ordered],
            "start_at_unix": reference.start_at_unix,
            "folders": [str(s.folder) for s in ordered],
        },
    }
    run = {
        "started_at_unix": min(float(s.result.run["started_at_unix"]) for s in ordered),
        "start_ns": outcome.start_ns,
        "measure_start_ns": summary.window_start_ns,
        "end_ns": summary.window_end_ns,
        "wall_minus_monotonic_ns": {
            "start": reference.clock_start_ns,
            "end": reference.clock_end_ns,
        },
        "stop_reason": outcome.stop_reason.value,
        "records": len(outcome.records),
        "measured_records": len(measured),
        "warmup_records": len(outcome.records) - len(measured),
        "notes": notes + warnings,
        "shards": [_shard_facts(s, shifts[s.index]) for s in ordered],
    }
    result = BenchResult(
        name=reference.result.name,
        target=reference.result.target,
        emulated=any(s.result.emulated for s in ordered),
        config=config,
        environment={
            **reference.result.environment,
            "shard_hosts": [s.result.environment.get("host") for s in ordered],
        },
        run=run,
        summary=summary.model_dump(mode="json"),
        server_metrics=reference.result.server_metrics,
        client_overhead=reference.result.client_overhead,
    )
    return MergedRun(result, outcome.records, warnings)


def _shard_facts(shard: ShardResult, shift: int) -> dict[str, Any]:
    return {
        "index": shard.index,
        "folder": str(shard.folder),
        "host": shard.result.environment.get("host"),
        "records": len(shard.records),
        "stop_reason": shard.result.run["stop_reason"],
        "shift_ns": shift,  # added to its times to put them on the merged clock
        "clock_moved_ns": shard.clock_end_ns - shard.clock_start_ns,
        "started_wall_ns": shard.started_wall_ns() if shard.records else None,
    }


def merge_results(folders: Sequence[Path], output: Path, allow_missing: bool = False) -> MergedRun:
    """Load the shards' result folders, merge them and save the result to `output`."""
    for folder in folders:
        if folder.resolve() == output.resolve():
            raise MergeError(f"-o {output}: that is one of the shards; write the merge elsewhere")
    merged = merge_shards([load_shard(folder) for folder in folders], allow_missing)
    save_result(output, merged.result, merged.records)
    return merged
