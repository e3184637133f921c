"""The report's table of the server's own clock: pooled from the records of the levels that
reported it, in HTML and markdown, marked like every target name, and absent otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.bench.protocol import ErrorKind
from crossfade.report import load_report, render_html, render_markdown
from crossfade.report.html import CSS
from tests.report.saved import EMULATED, EMULATED_LABEL, MS, REAL, bare_mentions, save_run


def test_the_levels_that_reported_get_their_pooled_figures(tmp_path: Path) -> None:
    repeats = [save_run(tmp_path / f"r{i}", REAL, 2, False, count=40, stamped=True) for i in (0, 1)]
    plain = save_run(tmp_path / "plain", REAL, 4, False)
    failed = (30, ErrorKind.HTTP_STATUS, "HTTP 500")
    broken = save_run(tmp_path / "broken", EMULATED, 4, True, failing=failed, stamped=True)
    data = load_report([*repeats, plain, broken])
    (row,) = data.server_clock  # the level without stamps and the failed one have none
    assert (row.target, row.level, row.completed, row.clock.records) == (REAL, 2.0, 80, 80)
    client = next(p for p in data.points if p.level == 2.0).ttft_ms
    assert row.clock.ttft_ns.p50 == pytest.approx((client["p50"] - 2) * MS)
    split = row.clock.client_minus_server_ttft_ns
    assert (split.min, split.max) == (2 * MS, 2 * MS)
    assert row.clock.queue_ns.mean == MS


def test_both_formats_show_the_table_with_every_name_marked(tmp_path: Path) -> None:
    folders = [
        save_run(tmp_path / "real", REAL, 2, False, stamped=True),
        save_run(tmp_path / "emulated", EMULATED, 2, True, stamped=True),
    ]
    data = load_report(folders)
    markdown = render_markdown(data)
    assert "## The server's own clock" in markdown
    lines = markdown.splitlines()
    real = next(line for line in lines if line.startswith(f"| {REAL} | 2 | 48/48 |"))
    assert real.endswith("| 2.00 / 2.00 / 2.00 | 1.00 / 1.00 / 1.00 |")
    assert any(line.startswith(f"| {EMULATED_LABEL} | 2 | 48/48 |") for line in lines)
    assert bare_mentions(markdown) == []
    html = render_html(data).replace(CSS, "")
    assert '<section id="server-clock">' in html
    assert "Client \u2212 server TTFT ms (mean / p50 / p99)" in html
    assert bare_mentions(html.split('<section id="server-clock">')[1].split("</section>")[0]) == []


def test_no_table_when_no_request_carried_the_servers_stamps(tmp_path: Path) -> None:
    data = load_report([save_run(tmp_path / "plain", REAL, 2, False)])
    assert data.server_clock == ()
    assert "server's own clock" not in render_markdown(data)
    assert 'id="server-clock"' not in render_html(data)
