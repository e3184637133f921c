"""Levels whose runs say nothing about their target, and how such a failure reads.

The rule is the run summary's (`bench.summary.Summary.target_failed`: no request succeeded, or
more than half failed). A target fails at a level when any of its runs there failed: a failed
run pooled with good repeats would blur the estimates (fast failures free slots, and the
successes left are the lucky ones), and a verdict drawn from the good repeats alone would hide
that the target also did not answer. The errors come from the failed runs' own records, so
results saved before the summary grouped its errors read the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crossfade.bench.protocol import RequestRecord
from crossfade.bench.summary import ErrorGroup, Summary, error_groups, merge_error_groups
from crossfade.compare.model import LevelFailure

# A message in a one-line verdict is cut here; comparison.json and the report keep it whole.
MESSAGE_CHARS = 160


def level_failed(summaries: Iterable[Summary]) -> bool:
    """True when any run of a target at a level says nothing about it."""
    return any(summary.target_failed for summary in summaries)


def level_failure(
    target: str,
    level: float,
    runs: Sequence[tuple[str, Summary, Sequence[RequestRecord]]],
) -> LevelFailure | None:
    """The failure of `target` at `level` from its runs (folder, summary, measured records);
    None when no run failed."""
    failed = [(folder, records) for folder, summary, records in runs if summary.target_failed]
    if not failed:
        return None
    records = [record for _, run_records in failed for record in run_records]
    return LevelFailure(
        target=target,
        level=level,
        runs=len(runs),
        failed_runs=[folder for folder, _ in failed],
        requests=len(records),
        failed=sum(1 for record in records if not record.ok),
        errors=error_groups(records),
    )


def pool_failures(failures: Sequence[LevelFailure]) -> LevelFailure:
    """The failures of one target at several levels as one (runs, requests and errors added;
    `level` is the first one's)."""
    return failures[0].model_copy(
        update={
            "runs": sum(f.runs for f in failures),
            "failed_runs": [run for f in failures for run in f.failed_runs],
            "requests": sum(f.requests for f in failures),
            "failed": sum(f.failed for f in failures),
            "errors": merge_error_groups([f.errors for f in failures]),
        }
    )


def errors_text(groups: Sequence[ErrorGroup], messages: int = 1) -> str:
    """ "http_status 5: HTTP 400: unknown model 'x'; timeout 1: ..." with the first `messages`
    messages of each kind, each cut to MESSAGE_CHARS and on one line."""
    return "; ".join(
        f"{group.kind.value} {group.count}: "
        + " | ".join(_one_line(message) for message in group.messages[:messages])
        for group in groups
    )


def failure_text(failure: LevelFailure) -> str:
    """ "5 of 5 requests failed; http_status 5: HTTP 400 ..." (with the runs when several)."""
    runs = f"{len(failure.failed_runs)} of {failure.runs} runs failed: " if failure.runs > 1 else ""
    counts = f"{failure.failed} of {failure.requests} requests failed"
    errors = errors_text(failure.errors)
    return f"{runs}{counts}" + (f"; {errors}" if errors else "")


def _one_line(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "\u2026"
