"""Loading saved folders into ReportData: comparison summaries, pooled runs, CDFs, failures,
and clear errors for folders a report cannot be made from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crossfade.bench.metrics import NS_PER_MS, NS_PER_S, percentile, request_metrics
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.results import load_records, load_result
from crossfade.bench.summary import in_window
from crossfade.compare.analysis import analyse_sweep
from crossfade.compare.model import COMPARISON_FILE, CompareError, Comparison
from crossfade.report import ReportError, load_report
from crossfade.report.runs import CDF_POINTS
from tests.report.saved import EMULATED, LEVELS, REAL, save_run, save_sweep_folder
from tests.support.older import A613DB6


def measured(folder: Path) -> list[RequestRecord]:
    result = load_result(folder)
    return in_window(load_records(folder), result.run.measure_start_ns, result.run.end_ns)


def test_a_compared_sweep_plots_the_comparison_summaries(tmp_path: Path) -> None:
    folder = save_sweep_folder(tmp_path / "sweep")
    comparison = Comparison.model_validate_json((folder / COMPARISON_FILE).read_text())
    data = load_report([folder])

    assert [(t.name, t.emulated) for t in data.targets] == [(EMULATED, True), (REAL, False)]
    assert data.mode == "concurrency"
    assert data.levels == list(LEVELS)
    assert data.comparisons == (comparison,)
    expected = {(s.target, s.level): s for s in comparison.summaries}
    assert len(data.points) == len(expected)
    for point in data.points:
        summary = expected[(point.target, point.level)]
        assert point.output_token_throughput == summary.output_token_throughput
        assert point.ttft_ms == summary.ttft_ms
        assert point.goodput == summary.goodput
        assert point.output_tokens_per_s_per_user == summary.output_tokens_per_s_per_user


def test_cdfs_and_failures_come_from_the_records(tmp_path: Path) -> None:
    folder = save_sweep_folder(tmp_path / "sweep")
    data = load_report([folder])
    # The sweep's emulated run at concurrency 8 is its 7th (targets alternate, level by level).
    records = measured(folder / "runs/run-006")
    ttfts = sorted(m.ttft_ns / 1e6 for r in records if (m := request_metrics(r)) and m.ttft_ns)
    cdf = next(c for c in data.cdfs if (c.target, c.level, c.metric) == (EMULATED, 8.0, "ttft"))
    assert cdf.values_ms == pytest.approx(ttfts, abs=1e-3)
    assert cdf.fractions[-1] == 1.0
    assert list(cdf.fractions) == sorted(cdf.fractions)

    row = next(e for e in data.errors if (e.target, e.level) == (EMULATED, 8.0))
    kinds = [r.error_kind.value for r in records if r.error_kind is not None]
    assert row.failed == len(kinds) > 0
    assert {g.kind.value: g.count for g in row.groups} == {
        kind: kinds.count(kind) for kind in kinds
    }
    assert [g.messages for g in row.groups] == [["x"], ["x"]]
    assert row.failure is None  # 5 of 48 failed: the target answered
    assert row.requests == len(records)
    assert all(e.failed == 0 for e in data.errors if e.target == REAL)


def test_result_folders_without_comparison_are_pooled_per_target_and_level(
    tmp_path: Path,
) -> None:
    repeats = [save_run(tmp_path / f"a{i}", REAL, 4, False, count=40 + 8 * i) for i in range(2)]
    other = save_run(tmp_path / "b", EMULATED, 4, True)
    data = load_report([*repeats, other])

    assert data.comparisons == ()
    assert [(t.name, t.emulated) for t in data.targets] == [(REAL, False), (EMULATED, True)]
    pooled = data.points_of(REAL)
    assert [p.level for p in pooled] == [4.0]
    summaries = [load_result(f).summary for f in repeats]
    tokens = sum(s.output_token_throughput_per_s * s.window_s for s in summaries)
    assert pooled[0].output_token_throughput == pytest.approx(
        tokens / sum(s.window_s for s in summaries)
    )
    assert pooled[0].requests == sum(s.requests for s in summaries)
    ttfts = [m.ttft_ns for f in repeats for r in measured(f) if (m := request_metrics(r))]
    assert pooled[0].ttft_ms["p99"] == pytest.approx(percentile(ttfts, 99) / 1e6)
    assert pooled[0].goodput is not None


def test_a_long_cdf_is_thinned_to_a_fixed_number_of_points(tmp_path: Path) -> None:
    folder = save_run(tmp_path / "big", REAL, 2, False, count=900)
    first = load_report([folder]).cdfs_of("e2e")[0]
    second = load_report([folder]).cdfs_of("e2e")[0]
    e2e = np.sort([m.e2e_ns for r in measured(folder) if (m := request_metrics(r))])
    assert first == second
    assert len(first.values_ms) == CDF_POINTS
    assert first.values_ms[0] == pytest.approx(e2e[0] / 1e6, abs=1e-3)
    assert first.values_ms[-1] == pytest.approx(e2e[-1] / 1e6, abs=1e-3)
    assert first.fractions[-1] == 1.0


def test_folders_a_report_cannot_use_are_named_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match=r"empty: neither a sweep folder .* `crossfade bench`"):
        load_report([tmp_path / "empty"])

    closed = save_run(tmp_path / "closed", REAL, 2, False)
    opened = save_run(tmp_path / "open", REAL, 2, False, rate=2.0)
    with pytest.raises(ReportError, match="report them separately"):
        load_report([closed, opened])

    (closed / "requests.jsonl").unlink()
    with pytest.raises(ReportError, match=r"closed: no requests.jsonl"):
        load_report([closed])

    folder = save_sweep_folder(tmp_path / "sweep")
    data = json.loads((folder / COMPARISON_FILE).read_text())
    data["pairs"][0]["levels"][0]["metrics"][0]["ci_low"] = "wide"
    (folder / COMPARISON_FILE).write_text(json.dumps(data))
    with pytest.raises(CompareError, match=r"comparison.json: pairs.0.levels.0.metrics.0.ci_low"):
        load_report([folder])
    (folder / COMPARISON_FILE).write_text(json.dumps(data | {"schema_version": 9}))
    with pytest.raises(CompareError, match="schema_version 9"):
        load_report([folder])


def test_an_open_loop_result_is_placed_at_its_rate(tmp_path: Path) -> None:
    folder = save_run(tmp_path / "open", REAL, 2, False, rate=2.5)
    data = load_report([folder])
    assert data.mode == "rate"
    assert data.levels == [2.5]
    summary = load_result(folder).summary
    assert data.points[0].request_throughput == pytest.approx(
        summary.completed_in_window / (summary.window_end_ns - summary.window_start_ns) * NS_PER_S
    )


def test_a_report_of_runs_gives_the_figures_compare_gives(tmp_path: Path) -> None:
    """One pooled level: a sweep reported from its runs shows what comparison.json would."""
    folder = save_sweep_folder(tmp_path / "sweep", with_comparison=False)
    points = load_report([folder]).points
    compared = {(s.target, s.level): s for s in analyse_sweep(folder).summaries}
    assert len(points) == len(compared) > 0
    for point in points:
        summary = compared[(point.target, point.level)]
        # Bands come from the comparison's bootstrap alone: a report of runs has none.
        same = {"runs", "intervals"}
        assert point.model_dump(exclude=same) == summary.model_dump(exclude=same)
        assert [Path(run).relative_to(folder).as_posix() for run in point.runs] == summary.runs


def test_an_open_loop_level_counts_latency_from_the_scheduled_send(tmp_path: Path) -> None:
    """As the run's summary and compare do: a delayed send is charged to the latency."""
    folder = save_run(tmp_path / "open", REAL, 2, False, rate=2.5)
    point = load_report([folder]).points[0]
    metrics = [m for r in measured(folder) if (m := request_metrics(r)) is not None]
    scheduled = [m.ttft_from_scheduled_ns for m in metrics]
    sent = [m.ttft_ns for m in metrics]
    assert percentile(scheduled, 50) != percentile(sent, 50)  # the records tell them apart
    assert point.ttft_ms["p50"] == pytest.approx(percentile(scheduled, 50) / NS_PER_MS)


def test_a_sweep_saved_by_a613db6_is_reported_and_compared_again(tmp_path: Path) -> None:
    """Schema-1 results and a schema-2 comparison.json (tests/support/saved)."""
    saved = A613DB6 / "sweep"
    data = load_report([saved])
    assert [(p.target, p.level) for p in data.points] == [
        ("a", 1.0),
        ("a", 2.0),
        ("b", 1.0),
        ("b", 2.0),
    ]
    assert data.points == tuple(data.comparisons[0].summaries)
    environment = dict(data.environment)
    assert environment["client host"] == "fixture-host"
    assert float(environment["client budget (chunks/s, crossfade calibrate)"]) > 0
    again = analyse_sweep(saved)
    assert [s.requests for s in again.summaries] == [p.requests for p in data.points]
