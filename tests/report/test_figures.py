"""Figures: the Pareto frontier, and what the charts say when a measure is missing."""

from __future__ import annotations

from pathlib import Path

from crossfade.report import load_report
from crossfade.report.figures import goodput_figure, pareto_frontier
from tests.report.saved import REAL, save_run


def test_the_frontier_keeps_the_points_nothing_beats_on_both_axes() -> None:
    # (3, 9) beats (2, 8); (1, 10) beats (0.5, 5); neither of the two beats the other.
    points = [(1.0, 10.0), (2.0, 8.0), (3.0, 9.0), (0.5, 5.0)]
    assert pareto_frontier(points) == [(1.0, 10.0), (3.0, 9.0)]
    assert pareto_frontier([]) == []
    assert pareto_frontier([(1.0, 1.0), (1.0, 1.0)]) == [(1.0, 1.0)]


def test_without_slos_the_goodput_chart_says_there_is_none(tmp_path: Path) -> None:
    data = load_report([save_run(tmp_path / "run", REAL, 2, False, slos=None)])
    assert data.points[0].goodput is None
    figure = goodput_figure(data)
    assert "no SLOs given, so no goodput" in figure.layout.title.text
    assert [trace.name for trace in figure.data] == [REAL]
