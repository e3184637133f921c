"""analyse_sweep end to end on sweep folders built by hand, where the truth is known: target b's
TTFT is 20% lower than a's from concurrency 4 on and the same below, their ITL is the same
everywhere, and a stops scaling after concurrency 4."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crossfade.bench.sweep_index import SweepError
from crossfade.compare import (
    CompareError,
    Comparison,
    analyse_sweep,
    load_comparison,
    save_comparison,
    verdict_lines,
)
from crossfade.compare.model import COMPARISON_SCHEMA_VERSION, MetricComparison, PairComparison
from crossfade.errors import CrossfadeError
from tests.compare.sweeps import RunShape, SweepBuilder
from tests.support.older import A613DB6

LEVELS = [1.0, 2.0, 4.0, 8.0]
# Median TTFT (ms) per level: the same below 4; from 4 on, b's is 0.8 x a's. At 8, a's TTFT
# (and so its E2E) grows so much that its throughput barely rises: a saturates at 4.
TTFT_MS = {"a": [100, 100, 120, 400], "b": [100, 100, 96, 320]}
SLOS = ["ttft:p99<300ms"]


def build(folder: Path, repeats: int = 1, stop_reason: str = "completed") -> SweepBuilder:
    sweep = SweepBuilder(folder, LEVELS, ["a", "b"], SLOS)
    seed = 0
    for target, medians in TTFT_MS.items():
        for level, ttft in zip(LEVELS, medians, strict=True):
            for repeat in range(repeats):
                seed += 1  # every run its own sample, even where the truth is the same
                sweep.add(target, level, RunShape(ttft_ms=ttft), seed, repeat)
    sweep.save(stop_reason, repeats)
    return sweep


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("sweep"), repeats=5).folder


@pytest.fixture(scope="module")
def comparison(sweep_folder: Path) -> Comparison:
    return analyse_sweep(sweep_folder, resamples=1000)


def metric(pair: PairComparison, level: float, name: str) -> MetricComparison:
    found = next(lv for lv in pair.levels if lv.level == level)
    return next(m for m in found.metrics if m.metric == name)


def test_the_ttft_gap_is_found_where_it_is_and_only_there(comparison: Comparison) -> None:
    (pair,) = comparison.pairs
    assert (pair.a, pair.b) == ("a", "b")
    for level in (1.0, 2.0):
        same = metric(pair, level, "ttft_p50")
        assert not same.significant
        assert same.winner is None
        assert same.verdict.startswith("TTFT p50: no significant difference beyond ±5.0% (")
    for level in (4.0, 8.0):
        gap = metric(pair, level, "ttft_p50")
        assert gap.winner == "b"
        assert gap.ci_low <= -0.2 <= gap.ci_high < 0
        assert gap.verdict.startswith("TTFT p50: b ")
        assert " lower than a (99% CI " in gap.verdict
    crossover = next(c for c in pair.crossovers if c.metric == "ttft_p50")
    assert (crossover.winner, crossover.from_level) == ("b", 4.0)
    assert "b ahead from concurrency 4 on" in crossover.note


def test_equal_itl_gives_no_difference_and_no_crossover(comparison: Comparison) -> None:
    (pair,) = comparison.pairs
    for level in LEVELS:
        itl = metric(pair, level, "itl_p50")
        assert itl.winner is None
        assert itl.ci_low < 0 < itl.ci_high
        assert abs(itl.difference) < 0.05
    crossover = next(c for c in pair.crossovers if c.metric == "itl_p50")
    assert (crossover.winner, crossover.from_level) == (None, None)


def test_every_metric_is_compared_with_goodput_under_slos(comparison: Comparison) -> None:
    (pair,) = comparison.pairs
    names = [m.metric for m in pair.levels[0].metrics]
    assert names == [
        "output_token_throughput", "request_throughput", "goodput", "ttft_p50", "ttft_p99",
        "itl_p50", "itl_p99", "e2e_p50", "e2e_p99",
    ]  # fmt: skip
    assert [c.metric for c in pair.crossovers] == names
    for compared in pair.levels[-1].metrics:
        # Over the repeats: near the pooled values' difference, not equal to it.
        pooled = compared.b_value / compared.a_value - 1
        assert compared.difference == pytest.approx(pooled, abs=0.1 * (1 + abs(pooled)))
        assert compared.ci_low <= compared.difference <= compared.ci_high
        assert compared.significant == (compared.ci_low > 0 or compared.ci_high < 0)


def test_summaries_pool_each_target_and_level(comparison: Comparison) -> None:
    assert len(comparison.summaries) == 8
    top = next(s for s in comparison.summaries if (s.target, s.level) == ("a", 8.0))
    assert top.runs == [f"runs/a-c8-r{repeat}" for repeat in range(5)]
    assert (top.requests, top.failed) == (1000, 10)
    assert top.ttft_ms["p50"] == pytest.approx(400, rel=0.1)
    assert top.itl_ms["p50"] == pytest.approx(10, rel=0.1)
    assert top.goodput is not None
    assert top.goodput < top.request_throughput
    assert top.output_tokens_per_s_per_user == pytest.approx(100, rel=0.1)  # 1 token / 10 ms


def test_a_saturates_after_its_throughput_stops_rising(comparison: Comparison) -> None:
    saturation = {s.target: s for s in comparison.saturation}
    assert saturation["a"].level == 4.0
    assert "saturates at concurrency 4" in saturation["a"].note
    assert saturation["b"].level is None
    assert saturation["b"].note == "not saturated up to concurrency 8"


def test_verdict_lines_read_the_highest_level_crossovers_and_saturation(
    comparison: Comparison,
) -> None:
    lines = verdict_lines(comparison)
    assert lines[0] == "b vs a at concurrency 8 (highest level):"
    assert any(line.startswith("  TTFT p50: b ") for line in lines)
    assert any(
        line.startswith("  ITL p50: no significant difference beyond ±5.0% (") for line in lines
    )
    assert any(
        line.startswith("  crossover, TTFT p50: b ahead from concurrency 4") for line in lines
    )
    assert lines[-2].startswith("saturation, a: saturates at concurrency 4")
    assert lines[-1] == "saturation, b: not saturated up to concurrency 8"


def test_the_analysis_is_seeded_and_the_file_round_trips(
    sweep_folder: Path, comparison: Comparison, tmp_path: Path
) -> None:
    assert analyse_sweep(sweep_folder, resamples=1000) == comparison
    other = analyse_sweep(sweep_folder, resamples=1000, seed=1)
    assert (
        metric(other.pairs[0], 8.0, "ttft_p50").ci_low
        != metric(comparison.pairs[0], 8.0, "ttft_p50").ci_low
    )
    path = save_comparison(tmp_path, comparison)
    assert path == tmp_path / "comparison.json"
    assert not (tmp_path / "comparison.json.partial").exists()
    assert load_comparison(tmp_path) == comparison == load_comparison(path)
    assert (comparison.confidence, comparison.resamples, comparison.seed) == (0.99, 1000, 0)
    assert comparison.completeness == "complete"


def test_repeats_are_pooled_and_a_missing_level_makes_it_partial(tmp_path: Path) -> None:
    sweep = SweepBuilder(tmp_path, [1.0, 2.0], ["a", "b"])
    for repeat in range(2):
        sweep.add("a", 1.0, RunShape(ttft_ms=100, requests=60), seed=repeat, repeat=repeat)
        sweep.add("b", 1.0, RunShape(ttft_ms=100, requests=60), seed=10 + repeat, repeat=repeat)
    sweep.add("a", 2.0, RunShape(ttft_ms=100, requests=60), seed=20)
    sweep.save(repeat=2)
    comparison = analyse_sweep(tmp_path, resamples=200)
    assert comparison.completeness == "partial"
    pooled = next(s for s in comparison.summaries if (s.target, s.level) == ("a", 1.0))
    assert pooled.runs == ["runs/a-c1-r0", "runs/a-c1-r1"]
    assert (pooled.requests, pooled.failed) == (120, 4)
    assert [level.level for level in comparison.pairs[0].levels] == [1.0]
    # No SLOs: no goodput.
    assert all(m.metric != "goodput" for m in comparison.pairs[0].levels[0].metrics)
    assert pooled.goodput is None
    assert verdict_lines(comparison)[0] == "partial sweep: some targets or levels were not measured"


def test_an_interrupted_sweep_is_partial(tmp_path: Path) -> None:
    sweep = SweepBuilder(tmp_path, [1.0], ["a", "b"])
    sweep.add("a", 1.0, RunShape(ttft_ms=100, requests=30), seed=1)
    sweep.add("b", 1.0, RunShape(ttft_ms=100, requests=30), seed=2)
    sweep.save("interrupted")
    assert analyse_sweep(tmp_path, resamples=100).completeness == "partial"


def test_runs_of_another_workload_are_refused_by_folder(tmp_path: Path) -> None:
    sweep = SweepBuilder(tmp_path, [1.0], ["a", "b"])
    sweep.add("a", 1.0, RunShape(ttft_ms=100, requests=20), seed=1)
    sweep.add("b", 1.0, RunShape(ttft_ms=100, requests=20), seed=2, fingerprint="ffffffffffffffff")
    sweep.save()
    with pytest.raises(CompareError, match=r"another workload .*runs/b-c1-r0 \(ffffffffffffffff\)"):
        analyse_sweep(tmp_path)


def test_runs_with_other_slos_are_refused(tmp_path: Path) -> None:
    sweep = SweepBuilder(tmp_path, [1.0], ["a", "b"], ["ttft:p99<1s"])
    sweep.add("a", 1.0, RunShape(ttft_ms=100, requests=20), seed=1)
    sweep.add("b", 1.0, RunShape(ttft_ms=100, requests=20), seed=2, slos=["ttft:p99<2s"])
    sweep.save()
    with pytest.raises(CompareError, match=r"different SLOs \(ttft:p99<1s: .*runs/a-c1-r0"):
        analyse_sweep(tmp_path)


def test_unreadable_runs_and_arguments_are_clear_errors(tmp_path: Path) -> None:
    sweep = SweepBuilder(tmp_path, [1.0], ["a", "b"])
    folder = sweep.add("a", 1.0, RunShape(ttft_ms=100, requests=20), seed=1)
    sweep.add("b", 1.0, RunShape(ttft_ms=100, requests=20), seed=2)
    sweep.save()
    with pytest.raises(CompareError, match=r"confidence 1.5 is outside"):
        analyse_sweep(tmp_path, confidence=1.5)
    with pytest.raises(CompareError, match=r"resamples 0"):
        analyse_sweep(tmp_path, resamples=0)
    (folder / "requests.jsonl").unlink()
    with pytest.raises(CompareError, match=r"a-c1-r0/requests.jsonl: cannot read"):
        analyse_sweep(tmp_path)
    shutil.rmtree(folder)
    with pytest.raises(CrossfadeError, match=r"runs/a-c1-r0: no such result"):
        analyse_sweep(tmp_path)


def test_a_run_for_a_target_the_sweep_does_not_list_is_refused(tmp_path: Path) -> None:
    sweep = SweepBuilder(tmp_path, [1.0], ["a", "b"])
    sweep.add("a", 1.0, RunShape(ttft_ms=100, requests=20), seed=1)
    sweep.save()
    index = json.loads((tmp_path / "sweep.json").read_text(encoding="utf-8"))
    index["runs"][0]["target"] = "c"  # sweep.json edited by hand: the model refuses to build it
    (tmp_path / "sweep.json").write_text(json.dumps(index), encoding="utf-8")
    with pytest.raises(SweepError, match=r"run runs/a-c1-r0 is for target 'c'"):
        analyse_sweep(tmp_path)


def test_load_comparison_names_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(CompareError, match=r"comparison.json: no comparison here"):
        load_comparison(tmp_path)
    file = tmp_path / "comparison.json"
    file.write_text("{", encoding="utf-8")
    with pytest.raises(CompareError, match=r"comparison.json:1: not valid JSON"):
        load_comparison(tmp_path)
    file.write_text(json.dumps({"schema_version": 7}), encoding="utf-8")
    with pytest.raises(CompareError, match=r"schema_version 7; this crossfade reads 5, 4, 3, 2 or"):
        load_comparison(file)
    file.write_text(json.dumps({"schema_version": 1, "mode": "concurrency"}), encoding="utf-8")
    with pytest.raises(CompareError, match=r"comparison.json: levels: Field required"):
        load_comparison(file)


def failing_sweep(folder: Path) -> Comparison:
    """a answers everywhere; b answers at 1 and 2 and fails at 4 (35 of 40 requests); c fails
    at every level; d fails exactly half its requests at 4, which is not a failed run."""
    sweep = SweepBuilder(folder, [1.0, 2.0, 4.0], ["a", "b", "c", "d"])
    bad = "HTTP 400: model 'vllm_modle' is not found"
    for i, level in enumerate([1.0, 2.0, 4.0]):
        sweep.add("a", level, RunShape(ttft_ms=100, requests=40), seed=i)
        b_failures = 35 if level == 4 else 0
        sweep.add("b", level, RunShape(ttft_ms=80, requests=40, failures=b_failures, error=bad),
                  seed=10 + i)  # fmt: skip
        sweep.add("c", level, RunShape(ttft_ms=80, requests=40, failures=40, error=bad), seed=20)
        d_failures = 20 if level == 4 else 0
        sweep.add("d", level, RunShape(ttft_ms=100, requests=40, failures=d_failures), seed=30 + i)
    sweep.save()
    return analyse_sweep(folder, resamples=200)


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    return failing_sweep(tmp_path_factory.mktemp("failing"))


def test_a_failed_level_is_recorded_with_its_errors_and_compared_on_nothing(
    failing: Comparison,
) -> None:
    assert [(f.target, f.level) for f in failing.failures] == [
        ("b", 4.0), ("c", 1.0), ("c", 2.0), ("c", 4.0),
    ]  # fmt: skip
    b = failing.failure("b", 4.0)
    assert b is not None
    assert (b.runs, b.failed_runs, b.requests, b.failed) == (1, ["runs/b-c4-r0"], 40, 35)
    [group] = b.errors
    assert (group.kind, group.count) == ("http_status", 35)
    assert group.messages == ["HTTP 400: model 'vllm_modle' is not found"]
    # Nothing is estimated from a failed level: no summary, no metric, no saturation.
    assert ("b", 4.0) not in {(s.target, s.level) for s in failing.summaries}
    assert not any(s.target == "c" for s in failing.summaries)
    b_vs_a = next(p for p in failing.pairs if (p.a, p.b) == ("a", "b"))
    assert [(lv.level, lv.failed, len(lv.metrics) > 0) for lv in b_vs_a.levels] == [
        (1.0, [], True), (2.0, [], True), (4.0, ["b"], False),
    ]  # fmt: skip
    assert all(c.winner is None for c in b_vs_a.crossovers)
    assert {c.note for c in b_vs_a.crossovers} == {"b failed at the highest level (concurrency 4)"}
    # A pair with a target that never answered has nothing to cross over.
    c_vs_a = next(p for p in failing.pairs if (p.a, p.b) == ("a", "c"))
    assert c_vs_a.crossovers == []
    assert all(level.failed == ["c"] for level in c_vs_a.levels)
    assert [s.target for s in failing.saturation] == ["a", "b", "d"]
    b_saturation = next(s for s in failing.saturation if s.target == "b")
    assert b_saturation.level is None
    assert b_saturation.note.endswith("failed at 4")


def test_half_the_requests_failed_is_not_a_failed_run(failing: Comparison) -> None:
    assert failing.failure("d", 4.0) is None
    summary = next(s for s in failing.summaries if (s.target, s.level) == ("d", 4.0))
    assert (summary.requests, summary.failed) == (40, 20)


def test_verdict_lines_say_a_target_failed_and_draw_nothing_from_it(failing: Comparison) -> None:
    lines = verdict_lines(failing)
    message = "http_status 35: HTTP 400: model 'vllm_modle' is not found"
    assert (
        lines[0] == f"b at concurrency 4: failed (35 of 40 requests failed; {message}); no verdict"
    )
    assert lines[1] == (
        "c: failed at every level measured (concurrency 1, 2, 4: 3 of 3 runs failed: 120 of 120 "
        "requests failed; http_status 120: HTTP 400: model 'vllm_modle' is not found); no verdict"
    )
    # Nothing else about c: the line that says it failed is its only mention.
    assert [line for line in lines if "c" in line.split(":")[0].split()] == [lines[1]]
    assert "b vs a at concurrency 2 (highest level both answered):" in lines
    assert "  no crossover: b failed at the highest level (concurrency 4)" in lines
    assert not any(line.startswith("  crossover,") and "b ahead" in line for line in lines)
    assert "d vs b at concurrency 2 (highest level both answered):" in lines
    assert "d vs a at concurrency 4 (highest level):" in lines


def test_one_failed_repeat_fails_the_level(tmp_path: Path) -> None:
    sweep = SweepBuilder(tmp_path, [1.0], ["a", "b"])
    for repeat in range(2):
        sweep.add("a", 1.0, RunShape(ttft_ms=100, requests=30), seed=repeat, repeat=repeat)
    sweep.add("b", 1.0, RunShape(ttft_ms=100, requests=30), seed=5, repeat=0)
    sweep.add("b", 1.0, RunShape(ttft_ms=100, requests=30, failures=30), seed=6, repeat=1)
    sweep.save(repeat=2)
    comparison = analyse_sweep(tmp_path, resamples=100)
    failure = comparison.failure("b", 1.0)
    assert failure is not None
    assert (failure.runs, failure.failed_runs, failure.requests) == (2, ["runs/b-c1-r1"], 30)
    assert comparison.pairs[0].levels[0].metrics == []
    assert verdict_lines(comparison)[0] == (
        "b: failed at every level measured (concurrency 1: 1 of 2 runs failed: 30 of 30 requests "
        "failed; http_status 30: planted); no verdict"
    )


def test_a_schema_1_comparison_is_read_without_its_saturation_levels(
    comparison: Comparison, tmp_path: Path
) -> None:
    data = comparison.model_dump(mode="json")
    data["schema_version"] = 1
    del data["failures"]
    for saturation in data["saturation"]:
        del saturation["changes"], saturation["next_level"]
    for pair in data["pairs"]:
        for level in pair["levels"]:
            del level["failed"]
    (tmp_path / "comparison.json").write_text(json.dumps(data), encoding="utf-8")
    old = load_comparison(tmp_path)
    assert old.schema_version == COMPARISON_SCHEMA_VERSION
    assert old.pairs == comparison.pairs
    assert old.failures == []
    a = next(s for s in old.saturation if s.target == "a")
    assert a.level is None
    assert a.note.startswith("no saturation verdict: comparison.json schema 1 has no interval")
    assert a.note.endswith(f"rerun `crossfade compare --from {tmp_path}`")
    assert not any("saturates" in line for line in verdict_lines(old))


def test_a_schema_3_comparison_reads_its_winners_as_ahead_without_a_margin(
    comparison: Comparison, tmp_path: Path
) -> None:
    """Schema 3 had no margin, outcome, repeats, advice or intervals: a winner was an interval
    that excluded 0."""
    data = comparison.model_dump(mode="json")
    data["schema_version"] = 3
    del data["margin"]
    for summary in data["summaries"]:
        del summary["intervals"]
    for pair in data["pairs"]:
        for level in pair["levels"]:
            for metric in level["metrics"]:
                del metric["outcome"], metric["repeats"], metric["advice"]
    (tmp_path / "comparison.json").write_text(json.dumps(data), encoding="utf-8")
    old = load_comparison(tmp_path)
    assert (old.schema_version, old.margin) == (COMPARISON_SCHEMA_VERSION, 0.0)
    metrics = [m for pair in old.pairs for level in pair.levels for m in level.metrics]
    assert {m.outcome for m in metrics if m.winner} == {"ahead"}
    assert {m.outcome for m in metrics if not m.winner} == {"unclear"}
    assert {m.repeats for m in metrics} == {0}
    assert all(s.intervals == {} for s in old.summaries)


def test_an_a_a_sweep_has_no_winner_and_no_crossover(tmp_path: Path) -> None:
    """Two targets of one shape, three repeats: every metric at every level is equivalent or
    unclear, never a winner, and nothing crosses over."""
    sweep = SweepBuilder(tmp_path, [1.0, 4.0], ["a", "b"])
    seed = 0
    for target in ("a", "b"):
        for level in (1.0, 4.0):
            for repeat in range(3):
                seed += 1
                sweep.add(target, level, RunShape(ttft_ms=100), seed, repeat)
    sweep.save(repeat=3)
    (pair,) = analyse_sweep(tmp_path, resamples=500).pairs
    outcomes = {m.outcome for level in pair.levels for m in level.metrics}
    assert outcomes <= {"equivalent", "unclear"}
    assert all(c.winner is None for c in pair.crossovers)


def test_a_level_without_any_decode_rate_has_none(tmp_path: Path) -> None:
    """One-token answers have no decode time: the level's per-user rate is empty, not 0."""
    sweep = SweepBuilder(tmp_path, [1.0], ["a", "b"])
    sweep.add("a", 1.0, RunShape(ttft_ms=100, tokens=1, requests=20, failures=0), seed=1)
    sweep.add("b", 1.0, RunShape(ttft_ms=100, requests=20, failures=0), seed=2)
    sweep.save()
    summaries = {s.target: s for s in analyse_sweep(tmp_path).summaries}
    assert summaries["a"].output_tokens_per_s_per_user is None
    assert summaries["b"].output_tokens_per_s_per_user == pytest.approx(100, rel=0.2)


def test_a_schema_2_comparison_reads_an_empty_decode_rate_as_none(
    comparison: Comparison, tmp_path: Path
) -> None:
    data = comparison.model_dump(mode="json")
    data["schema_version"] = 2
    data["summaries"][0]["output_tokens_per_s_per_user"] = 0.0  # how schema 2 wrote "none"
    (tmp_path / "comparison.json").write_text(json.dumps(data), encoding="utf-8")
    old = load_comparison(tmp_path)
    assert old.schema_version == COMPARISON_SCHEMA_VERSION
    assert old.summaries[0].output_tokens_per_s_per_user is None
    assert old.summaries[1:] == comparison.summaries[1:]
    assert old.saturation == comparison.saturation  # schema 2 had the intervals


def test_the_comparison_of_a613db6_reads_back() -> None:
    """comparison.json of schema 2, as crossfade a613db6 wrote it (tests/support/saved)."""
    comparison = load_comparison(A613DB6 / "sweep")
    assert comparison.schema_version == COMPARISON_SCHEMA_VERSION
    assert [(s.target, s.level) for s in comparison.summaries] == [
        ("a", 1.0),
        ("a", 2.0),
        ("b", 1.0),
        ("b", 2.0),
    ]
    assert all(s.output_tokens_per_s_per_user for s in comparison.summaries)  # real rates kept
    assert [s.target for s in comparison.saturation] == ["a", "b"]
