"""The HTML report in a real browser: headless Chromium (Debian's package) opens the file, and
the test checks that every chart drew and that the screenshot shows them.

Chromium checks for updates, the time and sign-in on its own even with background networking
off, so it runs behind a local proxy that answers nothing: no request leaves this machine. The
report's Content-Security-Policy already forbids the page itself to fetch anything.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from crossfade.report import load_report, render_html
from crossfade.report.figures import PALETTE
from tests.report.png import read_png
from tests.report.saved import save_sweep_folder

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1400, 3000
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=10000",
)  # fmt: skip


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "chromium is not installed: run scripts/setup --dev (installs Debian's chromium)"
        )
    return path


@contextmanager
def dead_end_proxy() -> Iterator[str]:
    """A proxy on a free local port that reads each request and closes the connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def refuse() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed: the test is over
                return
            with connection, suppress(OSError):
                connection.settimeout(1)
                connection.recv(4096)

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        thread.join(timeout=5)


def run_chromium(page: Path, profile: Path, proxy: str, *action: str) -> str:
    command = [
        chromium(), *FLAGS, f"--user-data-dir={profile}", f"--proxy-server={proxy}",
        *action, page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# Elements that hold no others here: HTML's void ones, and the SVG shapes plotly draws (whose
# end tags, where the serialiser writes them, are ignored in turn).
UNNESTED = frozenset({"meta", "br", "img", "input", "link", "hr", "path", "rect", "line", "circle"})


class ChartCounter(HTMLParser):
    """Per chart element: how many plotly SVG layers and drawn lines ended up inside it."""

    def __init__(self, chart_ids: list[str]) -> None:
        super().__init__()
        self.chart_ids = chart_ids
        self.svgs = dict.fromkeys(chart_ids, 0)
        self.lines = dict.fromkeys(chart_ids, 0)
        self.error_bars = dict.fromkeys(chart_ids, 0)  # drawn interval bars
        self.verdict_cells: dict[str, int] = {}  # verdict-matrix cells by outcome class
        self.open: list[str | None] = []  # the chart each open element belongs to

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        inside = self.open[-1] if self.open else None
        if inside is None and values.get("id") in self.chart_ids:
            inside = values["id"]
        if inside is not None:
            classes = (values.get("class") or "").split()
            self.svgs[inside] += tag == "svg" and "main-svg" in classes
            self.lines[inside] += tag == "path" and "js-line" in classes
            self.error_bars[inside] += tag == "path" and "yerror" in classes
        if tag == "td":
            for name in (values.get("class") or "").split():
                if name.startswith("v-"):
                    self.verdict_cells[name] = self.verdict_cells.get(name, 0) + 1
        if tag not in UNNESTED:
            self.open.append(inside)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in UNNESTED:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag not in UNNESTED and self.open:
            self.open.pop()


def test_chromium_draws_every_chart_with_its_bands_and_the_verdict_table(tmp_path: Path) -> None:
    data = load_report([save_sweep_folder(tmp_path / "sweep")])
    page = tmp_path / "report.html"
    page.write_text(render_html(data), encoding="utf-8")
    chart_ids = [
        "chart-throughput", "chart-goodput", "chart-ttft", "chart-itl", "chart-pareto",
        "chart-cdf-ttft", "chart-cdf-e2e",
    ]  # fmt: skip
    shot = tmp_path / "shot.png"
    with dead_end_proxy() as proxy:
        dom = run_chromium(page, tmp_path / "profile", proxy, "--dump-dom")
        run_chromium(page, tmp_path / "profile", proxy, f"--screenshot={shot}")

    counter = ChartCounter(chart_ids)
    counter.feed(dom)
    for chart_id in chart_ids:
        assert counter.svgs[chart_id] >= 1, f"{chart_id}: no plotly SVG drawn"
        # Each target draws at least one line in every chart.
        assert counter.lines[chart_id] >= len(data.targets), f"{chart_id}: lines missing"
    # The curves over the levels carry their intervals: a bar at every point of every target.
    points = len(data.points)
    for chart_id in ("chart-throughput", "chart-goodput"):
        assert counter.error_bars[chart_id] == points, (chart_id, counter.error_bars)
    for chart_id in ("chart-ttft", "chart-itl"):  # p50 and p99 panels
        assert counter.error_bars[chart_id] == 2 * points, (chart_id, counter.error_bars)
    # The headline is the verdict matrix: 2 metrics x 4 levels, coloured by outcome.
    assert counter.verdict_cells == {"v-ahead": 5, "v-unclear": 3}, counter.verdict_cells

    assert shot.stat().st_size > 50_000
    image = read_png(shot)
    assert image.shape[:2] == (HEIGHT, WIDTH)
    pixels = image[:, :, :3].reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 100, "the screenshot is (nearly) one colour"
    for index in range(len(data.targets)):
        colour = np.array([int(PALETTE[index][i : i + 2], 16) for i in (1, 3, 5)], np.uint8)
        painted = int(np.all(pixels == colour, axis=1).sum())
        assert painted > 500, f"target {index}'s colour {PALETTE[index]} is not on the page"
    # The verdict matrix's colours are on the screenshot, not only in the DOM.
    for cell_colour in ("#bbf7d0", "#fde68a"):
        rgb = np.array([int(cell_colour[i : i + 2], 16) for i in (1, 3, 5)], np.uint8)
        assert int(np.all(pixels == rgb, axis=1).sum()) > 2000, f"no {cell_colour} cells shown"
