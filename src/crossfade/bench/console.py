"""What a person sees: progress while the run goes, and a summary table at the end.

On a terminal the progress is a live line, redrawn twice a second; elsewhere (CI, pod logs) it
is a plain line every `interval_s` (`--progress-interval`), so a long run is never silent and
nothing is redrawn into what follows. Either way it only reads counters that the runner's
record callback updates, from another thread, so it costs the measured event loop next to
nothing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from crossfade.bench.metrics import NS_PER_MS, ttft_ns
from crossfade.bench.plan import LoadPlan
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.results import BenchResult
from crossfade.bench.runner import OnRecord
from crossfade.bench.summary import Distribution, Distributions, ErrorGroup, LengthCheck
from crossfade.bench.sweep import FinishedRun, PlannedRun

EMULATED_MARK = "EMULATED (not TensorRT-LLM)"
SHOWN_MESSAGE_CHARS = 200  # of each error message in the summary (the record keeps 500)


class LiveProgress:
    """Requests done, rate, errors and the TTFT p50 of the last 200 requests.

    `transient`: on a terminal the line goes when it stops; elsewhere no last line is printed
    (a caller that prints its own line per run, as `SweepConsole` does)."""

    def __init__(
        self,
        console: Console,
        label: str,
        total: int | None,
        interval_s: float,
        transient: bool = False,
    ) -> None:
        self.console, self.label, self.total = console, label, total
        self.interval_s, self.transient = interval_s, transient
        self.done = self.failed = 0
        self.recent_ttft: deque[int] = deque(maxlen=200)
        self.started = time.monotonic()
        self.live: Live | None = None
        self.stopping = threading.Event()
        self.lines: threading.Thread | None = None
        if console.is_terminal:
            self.live = Live(
                console=console,
                refresh_per_second=2,
                get_renderable=self._render,
                transient=transient,
            )

    def __enter__(self) -> LiveProgress:
        if self.live is not None:
            self.live.__enter__()
        else:
            self.lines = threading.Thread(target=self._print_lines, name="crossfade-progress")
            self.lines.daemon = True
            self.lines.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)
            return
        self.stopping.set()
        if self.lines is not None:
            self.lines.join()
        if not self.transient:
            self._print_line()

    def on_record(self, record: RequestRecord) -> None:
        self.done += 1
        if not record.ok:
            self.failed += 1
            return
        value = ttft_ns(record)
        if value is not None:
            self.recent_ttft.append(value)

    def _print_lines(self) -> None:
        while not self.stopping.wait(self.interval_s):
            self._print_line()

    def _print_line(self) -> None:
        self.console.print(self._render(), soft_wrap=True)

    def _render(self) -> Text:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        total = f"/{self.total}" if self.total else ""
        recent = list(self.recent_ttft)  # one copy: the event loop's thread appends to it
        ttft = f"{np.median(recent) / NS_PER_MS:.1f} ms" if recent else "-"
        return Text(
            f"{self.label}: {self.done}{total} requests, {self.done / elapsed:.1f}/s, "
            f"{self.failed} failed, TTFT p50 {ttft}, {elapsed:.0f} s"
        )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value / NS_PER_MS:.2f}"


def summary_title(name: str, plan_label: str, emulated: bool) -> str:
    # Escaped: rich would read "[concurrency@6]" as a style tag and drop it.
    title = escape(f"{name}  [{plan_label}]")
    if emulated:
        title += f"\n{EMULATED_MARK}"  # its own line: a wrapped title must not split the mark
    return title


def _latency_rows(d: Distributions) -> tuple[tuple[str, Distribution], ...]:
    return (
        ("TTFT", d.ttft_ns),
        ("TTFT (from intended send)", d.ttft_from_scheduled_ns),
        ("ITL (per token)", d.itl_ns),
        ("TPOT", d.tpot_ns),
        ("E2E", d.e2e_ns),
        ("client queue", d.queue_ns),
    )


def summary_table(result: BenchResult) -> Group:
    """The result as tables: latency distributions, throughput, failures, verification."""
    summary, run = result.summary, result.run
    title = summary_title(result.name, result.config.plan_label, result.emulated)
    latency = Table(title=title, title_justify="left")
    latency.add_column("ms")
    for column in ("mean", "std", "p50", "p90", "p95", "p99", "p99.9", "n"):
        latency.add_column(column, justify="right")
    for label, d in _latency_rows(summary.distributions):
        shown = (d.mean, d.std, d.p50, d.p90, d.p95, d.p99, d.p99_9)
        latency.add_row(label, *(_ms(value) for value in shown), str(d.count))
    facts = Table(show_header=False, box=None)
    facts.add_row(
        "measured",
        f"{summary.completed} ok, {summary.failed} failed "
        f"over {summary.window_s:.1f} s (warm-up {run.warmup_records} excluded)",
    )
    facts.add_row(
        "throughput",
        f"{summary.request_throughput_per_s:.2f} req/s, "
        f"{summary.output_token_throughput_per_s:.1f} output tok/s",
    )
    for row in error_rows(summary.errors):
        facts.add_row(*row)
    facts.add_row("output length", length_text(summary.output_length))
    goodput = summary.goodput
    if goodput:
        slos = "; ".join(f"{s.slo} {'met' if s.met else 'MISSED'}" for s in goodput.slos)
        facts.add_row(
            "goodput",
            f"{goodput.good_per_s:.2f} req/s good ({goodput.good}/{goodput.requests}); {slos}",
        )
    facts.add_row("stopped", run.stop_reason.value)
    for note in run.notes:
        facts.add_row("note", Text(note))  # Text: a bracket in a message is not markup
    return Group(latency, facts)


def length_text(length: LengthCheck) -> str:
    """The length check in a line: a mismatch flagged where the length was forced; where it was
    not (or crossfade counted it), the mean difference with the requested lengths."""
    text = (
        f"{length.verified} verified, {length.mismatched} mismatched, "
        f"{length.unverifiable} unverifiable"
    )
    if length.forced and length.mismatched:
        text += "  <-- OUTPUT LENGTH MISMATCH"
    if (not length.forced or length.counted) and (difference := length.difference) is not None:
        forced = "" if length.forced else "not forced: "
        text += (
            f" ({forced}mean {length.received_mean:.1f} tokens for {length.requested_mean:.1f} "
            f"requested, {difference:+.1%})"
        )
    if length.counted:
        text += f"; {length.counted} counted with the workload's tokenizer"
    return text


def error_rows(groups: Sequence[ErrorGroup]) -> list[tuple[Text, Text]]:
    """ "failures: none", or a row per kind of error, most frequent first, with the first
    messages (a result saved before messages were kept: the counts alone)."""
    if not groups:
        return [(Text("failures"), Text("none"))]
    rows = []
    for group in groups:
        shown = [_clip(message) for message in group.messages]
        text = f"{group.count} {group.kind.value}" + (": " + " | ".join(shown) if shown else "")
        rows.append((Text("error", style="red"), Text(text)))
    return rows


def _clip(message: str) -> str:
    line = " ".join(message.split())  # one line: a server's message may hold newlines
    return line if len(line) <= SHOWN_MESSAGE_CHARS else line[: SHOWN_MESSAGE_CHARS - 1] + "…"


class SweepConsole:
    """Progress while each run goes (see `LiveProgress`), then one line per run that stays."""

    def __init__(self, console: Console, total: int, repeats: int, interval_s: float) -> None:
        self.console, self.total, self.repeats = console, total, repeats
        self.interval_s = interval_s
        self.live: LiveProgress | None = None
        self.label = ""

    def __enter__(self) -> SweepConsole:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_live()

    def _stop_live(self) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)
            self.live = None

    def run_started(self, run: PlannedRun, plan: LoadPlan) -> OnRecord | None:
        level = f"concurrency {plan.concurrency}" if plan.concurrency else f"{plan.rate:g} req/s"
        repeat = f"repeat {run.repeat + 1}/{self.repeats}"
        self.label = f"[{run.order + 1}/{self.total}] {run.target} {level} {repeat}"
        # Transient: the line printed when the run ends replaces it.
        self.live = LiveProgress(
            self.console, self.label, plan.requests, self.interval_s, transient=True
        )
        self.live.__enter__()
        return self.live.on_record

    def run_finished(self, finished: FinishedRun) -> None:
        self._stop_live()
        took = f"{finished.seconds:.1f} s"
        if finished.result is None:
            line = f"{self.label}: failed to run after {took}: {finished.error}"
            self.console.print(Text(line, style="red"), soft_wrap=True)
            return
        summary = finished.result.summary
        ok, failed = summary.completed, summary.failed
        ttft = summary.distributions.ttft_ns.p50
        ttft_text = f"TTFT p50 {ttft / NS_PER_MS:.1f} ms" if ttft is not None else "no TTFT"
        line = f"{self.label}: {ok} ok, {failed} failed, {ttft_text}, {took}"
        line += f", {finished.stop_reason}"
        self.console.print(Text(line, style="red" if failed and not ok else ""), soft_wrap=True)
