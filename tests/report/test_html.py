"""The HTML report: one self-contained file, the same bytes from the same results, and the
emulated target marked wherever it appears."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from plotly.offline import get_plotlyjs

from crossfade.report import load_report, render_html
from crossfade.report.figures import PALETTE
from crossfade.report.marks import EMULATED_MARK
from crossfade.report.text import NO_COMPARISON
from tests.report.saved import (
    EMULATED,
    EMULATED_LABEL,
    REAL,
    bare_mentions,
    save_run,
    save_sweep_folder,
)

DRAW = re.compile(r'^draw\("(?P<id>[a-z0-9-]+)",(?P<figure>.*)\);$', re.MULTILINE)


def charts(html: str) -> dict[str, dict[str, Any]]:
    return {m["id"]: json.loads(m["figure"]) for m in DRAW.finditer(html)}


def page_without_plotly(html: str) -> str:
    plotly = get_plotlyjs()
    assert html.count(plotly) == 1  # inlined, once
    return html.replace(plotly, "")


@pytest.mark.servers
def test_the_same_results_render_the_same_bytes(tmp_path: Path) -> None:
    folder = save_sweep_folder(tmp_path / "sweep")
    assert render_html(load_report([folder])) == render_html(load_report([folder]))
    # Two processes with different hash seeds: no set or dict order leaks into the bytes.
    outputs = []
    for seed in ("1", "2"):
        outputs.append(tmp_path / f"report-{seed}.html")
        command = [sys.executable, "-m", "crossfade", "report", str(folder), "-o", str(outputs[-1])]
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    assert outputs[0].read_bytes() == outputs[1].read_bytes()


def test_every_mention_of_the_emulated_target_carries_the_mark(tmp_path: Path) -> None:
    html = render_html(load_report([save_sweep_folder(tmp_path / "sweep")]))
    assert html.count(EMULATED) > 20  # headings, legends, hover texts, table rows, verdicts
    assert bare_mentions(html) == []
    assert 'class="banner"' in html
    for chart_id, figure in charts(html).items():
        groups = {trace.get("legendgroup") for trace in figure["data"]} - {None}
        assert groups == {EMULATED_LABEL, REAL}, chart_id
        for trace in figure["data"]:
            if trace.get("legendgroup") is None:
                continue  # the frontier across targets
            emulated = trace["legendgroup"] == EMULATED_LABEL
            shown = trace["name"] + trace.get("legendgrouptitle", {}).get("text", "")
            assert (EMULATED_MARK in shown) is emulated, (chart_id, shown)
            assert trace["line"]["dash"] == ("dash" if emulated else "solid"), chart_id


def test_each_target_keeps_its_colour_in_every_chart(tmp_path: Path) -> None:
    html = render_html(load_report([save_sweep_folder(tmp_path / "sweep")]))
    colours: dict[str, set[str]] = {}
    for chart_id, figure in charts(html).items():
        if chart_id.startswith("chart-cdf"):
            continue  # shades of the target's colour, one per level
        for trace in figure["data"]:
            if trace.get("legendgroup"):
                colours.setdefault(trace["legendgroup"], set()).add(trace["line"]["color"])
    assert colours == {EMULATED_LABEL: {PALETTE[0]}, REAL: {PALETTE[1]}}


def test_the_page_loads_nothing_from_anywhere(tmp_path: Path) -> None:
    html = render_html(load_report([save_sweep_folder(tmp_path / "sweep")]))
    rest = page_without_plotly(html)
    for reference in ("http://", "https://", " src=", "href=", "@import", "url("):
        assert reference not in rest
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in html
    # Fixed element ids for the charts, each drawn once; never plotly's random ones.
    drawn = [m["id"] for m in DRAW.finditer(html)]
    assert len(drawn) == len(set(drawn)) == 7
    for chart_id in drawn:
        assert rest.count(f'id="{chart_id}"') == 1


def test_levels_sit_on_a_log_axis_ticked_at_each_level(tmp_path: Path) -> None:
    data = load_report([save_sweep_folder(tmp_path / "sweep")])
    figure = charts(render_html(data))["chart-throughput"]
    axis = figure["layout"]["xaxis"]
    assert axis["type"] == "log"
    assert axis["tickvals"] == data.levels
    assert "Concurrency" in axis["title"]["text"]
    assert "tok/s" in figure["layout"]["yaxis"]["title"]["text"].replace("tokens/s", "tok/s")


def test_text_from_the_results_is_escaped(tmp_path: Path) -> None:
    name = "<script>alert(1)</script>&co"
    html = render_html(load_report([save_run(tmp_path / "run", name, 2, False)]))
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;co" in html
    assert "\\u003cscript\\u003ealert(1)" in html  # inside the charts' JSON


def test_results_without_a_comparison_say_so(tmp_path: Path) -> None:
    html = render_html(load_report([save_run(tmp_path / "run", REAL, 2, False)]))
    assert NO_COMPARISON.split(":")[0] in html
    assert "CI</th>" not in html
    assert 'class="banner"' not in html
