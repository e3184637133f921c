"""Whether a comparison's targets did the same work: each target's output lengths from its runs,
and a pair flagged (comparison.json and the verdict lines) when one forced exact lengths and the
other could not, or their means differ by more than 1%; older comparisons read without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossfade.compare import Comparison, analyse_sweep, load_comparison, verdict_lines
from crossfade.compare.lengths import LENGTH_TOLERANCE, length_difference
from crossfade.compare.model import COMPARISON_SCHEMA_VERSION, OutputLengths
from tests.compare.sweeps import RunShape, SweepBuilder

LEVELS = [1.0, 2.0]


def lengths(target: str, mean: float | None, forced: bool = True) -> OutputLengths:
    return OutputLengths(
        target=target, forced=forced, counted=not forced, requests=10, mean_output_tokens=mean
    )


def test_the_same_work_is_no_difference() -> None:
    assert length_difference(lengths("a", 64), lengths("b", 64)) is None
    assert length_difference(lengths("a", 100), lengths("b", 101)) is None  # within 1%
    assert LENGTH_TOLERANCE == 0.01
    assert length_difference(lengths("a", 64, False), lengths("b", 64, False)) is None
    assert length_difference(lengths("a", None), lengths("b", 64, False)) is None  # unknown


def test_means_further_apart_than_the_tolerance() -> None:
    difference = length_difference(lengths("a", 100), lengths("b", 98))
    assert difference is not None
    assert difference.difference == pytest.approx(-0.02)
    assert (difference.a_forced, difference.b_forced) == (True, True)


def test_one_forced_and_one_not_even_at_the_same_mean() -> None:
    difference = length_difference(lengths("vllm", 64), lengths("llmapi", 64, forced=False))
    assert difference is not None
    assert difference.difference == 0
    assert difference.note == (
        "output lengths differed: llmapi 64.0 tokens per request (lengths not forced, counted "
        "by crossfade) against vllm 64.0 tokens per request (exact lengths forced) (+0.0%): "
        "tok/s, ITL and E2E compare unequal work"
    )


def build(folder: Path) -> Path:
    """a forced 20 tokens per request; b could not force them and stopped at 15."""
    sweep = SweepBuilder(folder, LEVELS, ["a", "b"])
    for seed, level in enumerate(LEVELS):
        sweep.add("a", level, RunShape(ttft_ms=50), 2 * seed + 1)
        sweep.add("b", level, RunShape(ttft_ms=50, tokens=15, forced=False), 2 * seed + 2)
    return sweep.save()


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    return analyse_sweep(build(tmp_path_factory.mktemp("sweep")), resamples=200)


def test_a_sweep_says_each_targets_lengths_and_the_pairs_difference(
    comparison: Comparison,
) -> None:
    assert comparison.output_lengths == [
        OutputLengths(target="a", forced=True, counted=False, requests=396, mean_output_tokens=20),
        OutputLengths(target="b", forced=False, counted=True, requests=396, mean_output_tokens=15),
    ]
    (pair,) = comparison.pairs
    difference = pair.output_lengths
    assert difference is not None
    assert (difference.a_mean_output_tokens, difference.b_mean_output_tokens) == (20, 15)
    assert difference.difference == pytest.approx(-0.25)
    assert (difference.a_forced, difference.b_forced) == (True, False)
    lines = verdict_lines(comparison)
    heading = next(i for i, line in enumerate(lines) if line.startswith("b vs a at"))
    assert lines[heading + 1] == f"  {difference.note}"  # before the verdicts it qualifies
    assert "(-25.0%)" in difference.note


def test_the_difference_is_saved_and_read_back(comparison: Comparison, tmp_path: Path) -> None:
    (tmp_path / "comparison.json").write_text(comparison.model_dump_json(), encoding="utf-8")
    assert load_comparison(tmp_path) == comparison
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert data["schema_version"] == COMPARISON_SCHEMA_VERSION == 5
    assert data["pairs"][0]["output_lengths"]["b_forced"] is False


def test_a_schema_3_comparison_reads_back_without_lengths(
    comparison: Comparison, tmp_path: Path
) -> None:
    data = comparison.model_dump(mode="json") | {"schema_version": 3}
    del data["output_lengths"]
    for pair in data["pairs"]:
        del pair["output_lengths"]
    (tmp_path / "comparison.json").write_text(json.dumps(data), encoding="utf-8")
    old = load_comparison(tmp_path)
    assert old.schema_version == COMPARISON_SCHEMA_VERSION
    assert old.output_lengths == []
    assert old.pairs[0].output_lengths is None  # not compared then
    assert old.summaries == comparison.summaries
