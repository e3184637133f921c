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
by their own clocks (one was late, or its clock differs). Shards that started too far apart did
not run together: their load was never the plan's, and a window spanning them would count the
gap as idle time, so they are refused rather than merged (`check_together`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crossfade.bench.metrics import NS_PER_MS, NS_PER_S
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.result_model import ClockOffsets, MergedShards, RunInfo, ShardRun
from crossfade.bench.results import BenchResult, save_result
from crossfade.bench.runner import RunOutcome
from crossfade.bench.session import summarize_outcome
from crossfade.bench.shards import MergeError, ShardResult, check_shards, load_shard
from crossfade.bench.slo import parse_slo
from crossfade.bench.workers import merge as merge_outcomes

CLOCK_STEP_NS = NS_PER_MS  # a pod's wall-minus-monotonic moving more than this was stepped
LATE_START_NS = 10_000_000  # a pod starting this long after the first did not start with it
# Shards whose starts lie further apart than this share of their whole span (and than the floor,
# which absorbs a short run's start-up jitter) did not run together: refused.
TOGETHER_SHARE = 0.05
TOGETHER_FLOOR_NS = 100_000_000


@dataclass
class MergedRun:
    result: BenchResult
    records: list[RequestRecord]
    warnings: list[str]  # clock and start problems, also among the result's notes
    missing: list[int]  # shards not given (merged with allow_missing), also among the notes


def clock_warnings(shards: Sequence[ShardResult]) -> list[str]:
    """What can be seen of the pods' clocks: steps during the run, and pods that started apart
    by their own clocks (a pod that was late, or whose clock differs from the others')."""
    started = [s for s in shards if s.records]
    warnings = []
    for shard in started:
        moved = shard.clock_end_ns - shard.clock_start_ns
        if abs(moved) > CLOCK_STEP_NS:
            warnings.append(
                f"shard {shard.index}'s wall clock moved {moved / NS_PER_MS:+.1f} ms against its "
                "monotonic clock during the run (a clock step): its records are placed to within "
                f"~{abs(moved) / NS_PER_MS:.1f} ms; latencies within a pod are exact, cross-pod "
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
        lag = shard.started_wall_ns() - round(start_at * NS_PER_S) if start_at is not None else None
        against = f" ({lag / NS_PER_MS:+.1f} ms from --start-at)" if lag is not None else ""
        apart_ms = apart / NS_PER_MS
        warnings.append(
            f"shard {shard.index} started {apart_ms:.1f} ms after shard {first.index} by "
            f"their own clocks{against}: it was late, or its clock differs by ~{apart_ms:.1f} "
            "ms; its load did not overlap the others' for that long, and cross-pod ordering is "
            "uncertain by as much (latencies within a pod are exact)"
        )
    return warnings


def start_note(shards: Sequence[ShardResult]) -> list[str]:
    """Shards that started together, all late for --start-at (pods not ready in time)."""
    lags = [
        s.started_wall_ns() - round(at * NS_PER_S)
        for s in shards
        if s.records and (at := s.start_at_unix) is not None
    ]
    if not lags or min(lags) <= LATE_START_NS:
        return []
    return [f"every shard started at least {min(lags) / NS_PER_MS:.1f} ms after --start-at"]


def check_together(shards: Sequence[ShardResult]) -> None:
    """Refuse shards that did not run together: their starts (by their own clocks) further apart
    than TOGETHER_SHARE of the span from the first start to the last end, and than the floor."""
    started = sorted((s for s in shards if s.records), key=lambda s: s.index)
    if len(started) < 2:
        return
    first = min(s.started_wall_ns() for s in started)
    spread = max(s.started_wall_ns() for s in started) - first
    span = max(s.ended_wall_ns() for s in started) - first
    if spread <= max(TOGETHER_FLOOR_NS, TOGETHER_SHARE * span):
        return
    starts = ", ".join(
        f"shard {s.index} at +{(s.started_wall_ns() - first) / NS_PER_S:.3f} s ({s.folder})"
        for s in started
    )
    raise MergeError(
        f"the shards did not run together: they started {spread / NS_PER_S:.3f} s apart by their "
        f"own clocks ({starts}), {spread / span:.1%} of the {span / NS_PER_S:.1f} s from the first "
        "start "
        f"to the last end (merge allows {TOGETHER_SHARE:.0%}, at least "
        f"{TOGETHER_FLOOR_NS / NS_PER_S:g} s). Merged, their load would not be the plan's and the "
        "throughput would count the gap as idle time. Each shard's result stands on its own; "
        "merge only the shards that started together (with --allow-missing), or run the pods "
        "again with one --start-at"
    )


def missing_notes(missing: Sequence[int], count: int) -> list[str]:
    return [
        f"shard {i}/{count} is missing: its share (requests {i}, {i + count}, {i + 2 * count}, "
        "...) is not in this result"
        for i in missing
    ]


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
        start_ns=run.start_ns + shift,
        end_ns=run.end_ns + shift,
        measure_start_ns=run.measure_start_ns + shift,
        stop_reason=run.stop_reason,
    )


def merge_shards(shards: Sequence[ShardResult], allow_missing: bool = False) -> MergedRun:
    """One result from the shards of one run (checked with `check_shards`), on the clock of the
    lowest shard given, summarised from all the records."""
    missing = check_shards(shards, allow_missing)
    ordered = sorted(shards, key=lambda s: s.index)
    reference = ordered[0]
    started = [s for s in ordered if s.records]
    if not started:
        raise MergeError("no shard recorded any request: nothing to merge")
    check_together(started)
    notes = missing_notes(missing, reference.count)
    notes += [f"shard {s.index} recorded no request" for s in ordered if not s.records]
    warnings = clock_warnings(ordered)
    notes += start_note(ordered)
    shifts = {s.index: s.clock_start_ns - reference.clock_start_ns for s in ordered}
    whole = reference.whole_plan
    outcome = merge_outcomes(
        [_outcome(s, shifts[s.index]) for s in started], warmup=whole.warmup_requests > 0
    )
    slos = [parse_slo(text) for text in reference.result.config.slos]
    forced = reference.result.summary.output_length.forced
    measured, summary = summarize_outcome(outcome, whole, slos, forced_length=forced)
    notes += [f"shard {s.index}: {note}" for s in ordered for note in s.result.run.notes]
    if reference.result.server_metrics is not None:
        notes.append(f"server metrics: shard {reference.index}'s scrapes")
    config = reference.result.config.model_copy(
        update={
            "plan": whole,
            "plan_label": whole.describe(),
            "shard": None,
            "workers": sum(s.result.config.workers for s in ordered),
            "shards": MergedShards(
                count=reference.count,
                merged=[s.index for s in ordered],
                missing=missing,
                start_at_unix=reference.start_at_unix,
                folders=[str(s.folder) for s in ordered],
            ),
        }
    )
    run = RunInfo(
        started_at_unix=min(s.result.run.started_at_unix for s in ordered),
        start_ns=outcome.start_ns,
        measure_start_ns=summary.window_start_ns,
        end_ns=summary.window_end_ns,
        wall_minus_monotonic_ns=ClockOffsets(
            start=reference.clock_start_ns, end=reference.clock_end_ns
        ),
        stop_reason=outcome.stop_reason,
        records=len(outcome.records),
        measured_records=len(measured),
        warmup_records=len(outcome.records) - len(measured),
        notes=notes + warnings,
        shards=[_shard_run(s, shifts[s.index]) for s in ordered],
    )
    result = BenchResult(
        name=reference.result.name,
        target=reference.result.target,
        emulated=any(s.result.emulated for s in ordered),
        config=config,
        environment=reference.result.environment,
        run=run,
        summary=summary,
        server_metrics=reference.result.server_metrics,
        client_overhead=reference.result.client_overhead,
    )
    return MergedRun(result, outcome.records, warnings, missing)


def _shard_run(shard: ShardResult, shift: int) -> ShardRun:
    return ShardRun(
        index=shard.index,
        folder=str(shard.folder),
        host=shard.result.environment.host,
        records=len(shard.records),
        stop_reason=shard.result.run.stop_reason,
        shift_ns=shift,
        clock_moved_ns=shard.clock_end_ns - shard.clock_start_ns,
        started_wall_ns=shard.started_wall_ns() if shard.records else None,
    )


def merge_results(folders: Sequence[Path], output: Path, allow_missing: bool = False) -> MergedRun:
    """Load the shards' result folders, merge them and save the result to `output`."""
    for folder in folders:
        if folder.resolve() == output.resolve():
            raise MergeError(f"-o {output}: that is one of the shards; write the merge elsewhere")
    merged = merge_shards([load_shard(folder) for folder in folders], allow_missing)
    try:
        save_result(output, merged.result, merged.records)
    except OSError as exc:
        raise MergeError(f"-o {output}: cannot write the merged result there: {exc}") from None
    return merged
