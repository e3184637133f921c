"""Whether the targets of a comparison did the same work: each target's output lengths over its
runs (from the run summaries: the mean over successful measured requests, whether the lengths
were forced, whether crossfade counted them), and per pair the difference a person must know
before reading per-token or throughput verdicts (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from crossfade.bench.summary import Summary
from crossfade.compare.model import LengthDifference, OutputLengths

# Mean output lengths further apart than this share are unequal work.
LENGTH_TOLERANCE = 0.01


def output_lengths(target: str, summaries: Sequence[Summary]) -> OutputLengths:
    """`target`'s lengths over the runs whose `summaries` are given."""
    counts = [s.distributions.output_tokens for s in summaries]
    requests = sum(d.count for d in counts)
    total = sum(d.mean * d.count for d in counts if d.mean is not None)
    return OutputLengths(
        target=target,
        forced=all(s.output_length.forced for s in summaries),
        counted=any(s.output_length.counted for s in summaries),
        requests=requests,
        mean_output_tokens=total / requests if requests else None,
    )


def length_difference(a: OutputLengths, b: OutputLengths) -> LengthDifference | None:
    """None when the pair did the same work: both forced or both not, means within tolerance
    (or unknown)."""
    a_mean, b_mean = a.mean_output_tokens, b.mean_output_tokens
    if a_mean is None or b_mean is None or a_mean <= 0:
        return None
    difference = (b_mean - a_mean) / a_mean
    if a.forced == b.forced and abs(difference) <= LENGTH_TOLERANCE:
        return None
    return LengthDifference(
        a_mean_output_tokens=a_mean,
        b_mean_output_tokens=b_mean,
        difference=difference,
        a_forced=a.forced,
        b_forced=b.forced,
        note=(
            f"output lengths differed: {_described(b)} against {_described(a)} "
            f"({difference:+.1%}): tok/s, ITL and E2E compare unequal work"
        ),
    )


def _described(lengths: OutputLengths) -> str:
    how = "exact lengths forced" if lengths.forced else "lengths not forced"
    if lengths.counted:
        how += ", counted by crossfade"
    return f"{lengths.target} {lengths.mean_output_tokens:.1f} tokens per request ({how})"
