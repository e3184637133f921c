"""A projection in the report: projected curves in the measured sweep's charts, dotted with
hollow markers and "(projected)" in every name; beside a sweep of the same workload, the ratio
measured/projected per point for the real targets (never an emulated one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.cli import main
from crossfade.project.model import PROJECTION_FILE, Projection, save_projection
from crossfade.report import load_report, render_html, render_markdown
from crossfade.report.projection import PROJECTION_NOTE
from tests.project.projections import projection
from tests.report.saved import EMULATED, REAL, save_sweep_folder
from tests.report.test_html import charts

# The saved sweeps' workload is 128 tokens in, 16 out, at concurrency 1, 2, 4 and 8.
SAME = projection(
    {1: 500, 2: 900, 8: 2000}, {1: 450, 2: 800, 8: 1800}, input_len=128, output_len=16
)
OTHER = projection({1: 500, 8: 2000, 32: 4000}, {1: 450, 8: 1800, 32: 3000})
PROJECTED_CHARTS = ("chart-throughput", "chart-ttft", "chart-itl", "chart-pareto")


def saved(folder: Path, projected: Projection) -> Path:
    save_projection(folder, projected)
    return folder


def projected_traces(figure: dict[str, object]) -> list[dict[str, object]]:
    data = figure["data"]
    assert isinstance(data, list)
    return [trace for trace in data if "projected" in str(trace.get("name", ""))]


def test_the_projected_curves_are_in_the_measured_charts_marked_projected(tmp_path: Path) -> None:
    sweep = save_sweep_folder(tmp_path / "sweep")
    html = render_html(load_report([sweep, saved(tmp_path / "p", OTHER) / PROJECTION_FILE]))
    drawn = charts(html)
    for chart in PROJECTED_CHARTS:
        traces = projected_traces(drawn[chart])
        assert [t["name"] for t in traces] == [
            "TensorRT-LLM (projected): llama, 1x H100",
            "vLLM (projected): llama, 1x H100",
        ], chart
        assert all(t["line"]["dash"] == "dot" for t in traces)  # type: ignore[index]
        assert all(str(t["marker"]["symbol"]).endswith("-open") for t in traces)  # type: ignore[index]
    throughput = projected_traces(drawn["chart-throughput"])
    assert throughput[1]["y"] == [450.0, 1800.0, 3000.0]
    # Another workload: its own axis on the right, and no ratios.
    assert {t["yaxis"] for t in throughput} == {"y2"}
    assert drawn["chart-throughput"]["layout"]["yaxis2"]["overlaying"] == "y"
    assert drawn["chart-throughput"]["layout"]["xaxis"]["tickvals"] == [1, 2, 4, 8, 32]
    assert PROJECTION_NOTE in html.replace("&#x27;", "'")
    assert "No ratios: projected at 1024 tokens in, 256 out, measured at 128 in, 16 out" in html


def test_beside_a_sweep_of_the_same_workload_each_real_point_gets_its_ratio(
    tmp_path: Path,
) -> None:
    data = load_report([save_sweep_folder(tmp_path / "sweep"), saved(tmp_path / "p", SAME)])
    assert data.projected is not None
    assert data.projected.same_workload
    ratios = data.ratios()
    assert [(r.target, r.backend.backend, r.concurrency) for r in ratios] == [
        (REAL, "vllm", 1),
        (REAL, "vllm", 2),
        (REAL, "vllm", 8),
    ]  # the emulated target is never paired, and 4 was not projected
    for ratio in ratios:
        point = next(p for p in data.points_of(REAL) if p.level == ratio.concurrency)
        figures = SAME.backends[1].point(ratio.concurrency).figures  # type: ignore[union-attr]
        assert figures is not None
        assert ratio.ttft.value == pytest.approx(point.ttft_ms["p50"] / figures.ttft_ms)
        assert ratio.itl.value == pytest.approx(point.itl_ms["p50"] / figures.tpot_ms)
        assert ratio.output_throughput.value == pytest.approx(
            point.output_token_throughput / figures.output_token_throughput
        )
    markdown = render_markdown(data)
    assert "## Projection (projected, not measured)" in markdown
    first = ratios[0]
    assert f"| {REAL} | vLLM (projected) | 1 | {first.ttft.value:.2f}x (" in markdown
    # The same workload shares the measured axis.
    throughput = projected_traces(charts(render_html(data))["chart-throughput"])
    assert all("yaxis" not in t for t in throughput)
    assert EMULATED not in {r.target for r in ratios}


def test_a_projection_alone_is_a_report_of_its_curves(tmp_path: Path) -> None:
    html = render_html(load_report([saved(tmp_path / "p", OTHER)]))
    traces = projected_traces(charts(html)["chart-throughput"])
    assert [t["y"] for t in traces] == [[500.0, 2000.0, 4000.0], [450.0, 1800.0, 3000.0]]
    assert "yaxis" not in traces[0]
    assert "no measured sweep given" in html


def test_report_takes_projection_json_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = save_sweep_folder(tmp_path / "sweep")
    out = tmp_path / "report.md"
    projected = saved(tmp_path / "p", SAME) / PROJECTION_FILE
    code = main(["report", str(sweep), str(projected), "-o", str(out), "--format", "markdown"])
    assert code == 0, capsys.readouterr().err
    assert "vLLM (projected)" in out.read_text()


def test_two_projections_in_one_report_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = saved(tmp_path / "one", SAME), saved(tmp_path / "two", OTHER)
    assert main(["report", str(one), str(two), "-o", str(tmp_path / "r.html")]) == 2
    assert "one projection per report" in capsys.readouterr().err
