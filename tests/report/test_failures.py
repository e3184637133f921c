"""A target that failed at a level: the report shows its errors with their messages, marks it
failed, and draws nothing from it (no point, no CDF, a gap in its line)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crossfade.bench.protocol import ErrorKind
from crossfade.bench.results import RESULT_FILE
from crossfade.compare import analyse_sweep, save_comparison
from crossfade.compare.model import COMPARISON_FILE
from crossfade.report import load_report, render_html, render_markdown
from tests.report.saved import (
    BROKEN,
    DOWN,
    LEVELS,
    REAL,
    REFUSED,
    UNKNOWN_MODEL,
    save_failing_sweep,
    save_run,
)
from tests.report.test_html import charts


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_failing_sweep(tmp_path_factory.mktemp("failing") / "sweep")


@pytest.fixture(scope="module")
def compared(sweep: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("compared") / "sweep"
    shutil.copytree(sweep, folder)
    save_comparison(folder, analyse_sweep(folder, resamples=200))
    return folder


@pytest.mark.parametrize("which", ["runs only", "with comparison.json"])
def test_a_failed_level_has_no_point_and_no_cdf_but_its_errors(
    which: str, sweep: Path, compared: Path
) -> None:
    data = load_report([sweep if which == "runs only" else compared])
    assert [(f.target, f.level) for f in data.failures] == [
        (BROKEN, 8.0), *((DOWN, level) for level in LEVELS),
    ]  # fmt: skip
    drawn = {(p.target, p.level) for p in data.points}
    assert drawn == {(t, lv) for t in (REAL, BROKEN) for lv in LEVELS} - {(BROKEN, 8.0)}
    assert {(c.target, c.level) for c in data.cdfs} == drawn
    assert data.failed_everywhere(DOWN)
    assert not data.failed_everywhere(BROKEN)
    row = next(r for r in data.errors if (r.target, r.level) == (BROKEN, 8.0))
    assert row.failure is not None
    # 50 measured: the two warm-up requests start with the first wave of 8, inside the window.
    assert (row.requests, row.failed, row.failure.failed) == (50, 40, 40)
    [group] = row.groups
    assert (group.kind, group.count, group.messages) == (ErrorKind.HTTP_STATUS, 40, [UNKNOWN_MODEL])


def test_the_html_report_marks_failures_and_draws_a_gap(compared: Path) -> None:
    html = render_html(load_report([compared]))
    assert html == render_html(load_report([compared]))
    banners = html.count('<div class="banner failed" role="alert">')
    assert banners == 2  # BROKEN at 8; DOWN once, for every level
    assert (
        f"<strong>{DOWN} failed at every level measured</strong>: concurrency 1, 2, 4, 8:" in html
    )
    assert f"<strong>{BROKEN} failed at concurrency 8</strong>: 40 of 50 requests failed" in html
    assert "HTTP 400: model &#x27;vllm_modle&#x27; is not found" in html
    assert REFUSED in html
    throughput = charts(html)["chart-throughput"]
    names = [trace["name"] for trace in throughput["data"]]
    assert names == [REAL, f"{BROKEN} (failed at concurrency 8)"]  # nothing drawn for DOWN
    broken = throughput["data"][1]
    assert broken["x"] == list(LEVELS)
    assert broken["y"][-1] is None
    assert all(y is not None for y in broken["y"][:-1])
    cdf_names = {t["legendgroup"] for t in charts(html)["chart-cdf-ttft"]["data"]}
    assert DOWN not in cdf_names
    # The comparison table: one row says why a level has no comparison.
    assert f"no comparison: {BROKEN} failed" in html


def test_the_markdown_report_marks_failures_in_the_tables(compared: Path) -> None:
    text = render_markdown(load_report([compared]))
    assert (
        f"> **{BROKEN} failed at concurrency 8**: 40 of 50 requests failed; http_status 40: "
        f"{UNKNOWN_MODEL}. No figures are drawn from it."
    ) in text
    assert f"| {BROKEN} | 8 | failed | \u2013 |" in text
    assert f"| {DOWN} | 1 | failed |" in text
    assert f"| {BROKEN} | 8 | 50 | 40 | yes | http_status 40: {UNKNOWN_MODEL} |" in text
    assert f"| {DOWN} | 1 | 48 | 48 | yes | connect 48: {REFUSED} |" in text
    assert "peak" not in [line for line in text.splitlines() if line.startswith(f"- {DOWN}")]


def test_results_saved_before_errors_were_grouped_show_their_messages(tmp_path: Path) -> None:
    folder = save_run(
        tmp_path / "old", REAL, 2, False, failing=(30, ErrorKind.STREAM_ERROR, "engine died")
    )
    result = json.loads((folder / RESULT_FILE).read_text())
    result["schema_version"] = 1  # the schema such results were saved in
    del result["summary"]["errors"]
    (folder / RESULT_FILE).write_text(json.dumps(result))
    data = load_report([folder])
    assert [(f.target, f.level, f.failed) for f in data.failures] == [(REAL, 2.0, 30)]
    assert data.points == ()
    text = render_markdown(data)
    assert f"| {REAL} | 2 | 48 | 30 | yes | stream_error 30: engine died |" in text


def test_a_schema_1_comparison_draws_no_point_where_the_runs_failed(compared: Path) -> None:
    data = json.loads((compared / COMPARISON_FILE).read_text())
    old = {**data, "schema_version": 1}
    del old["failures"]
    # Schema 1 had a summary for every level, failed or not.
    summary = next(s for s in data["summaries"] if (s["target"], s["level"]) == (BROKEN, 4.0))
    old["summaries"] = [*data["summaries"], {**summary, "level": 8.0}]
    for pair in old["pairs"]:
        for level in pair["levels"]:
            del level["failed"]
    for saturation in old["saturation"]:
        del saturation["changes"], saturation["next_level"]
    (compared.parent / "old").mkdir()
    folder = compared.parent / "old" / "sweep"
    shutil.copytree(compared, folder)
    (folder / COMPARISON_FILE).write_text(json.dumps(old))
    report = load_report([folder])
    assert (BROKEN, 8.0) not in {(p.target, p.level) for p in report.points}
    assert next((f.target, f.level) for f in report.failures) == (BROKEN, 8.0)
