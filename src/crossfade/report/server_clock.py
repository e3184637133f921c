"""The report's table of the server's own clock: per target and level, repeats pooled, the
server's TTFT and queue and the client's TTFT minus the server's, from the per-request stamps a
server such as TensorRT-LLM's LLM API model reports (`bench.summary.ServerClock`; the meaning
and the limits of each figure are in docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Sequence

from crossfade.bench.metrics import NS_PER_MS, request_metrics
from crossfade.bench.summary import Distribution, server_clock
from crossfade.report.model import ReportData, ServerClockRow
from crossfade.report.runs import Run

SERVER_CLOCK_COLUMNS = (
    "Target",
    "Level",
    "Requests reporting",
    "Server TTFT ms (mean / p50 / p99)",
    "Client \u2212 server TTFT ms (mean / p50 / p99)",
    "Server queue ms (mean / p50 / p99)",
)
SERVER_CLOCK_NOTE = (
    "From each request's own timestamps on the server's clock, repeats pooled: server TTFT = "
    "first token \u2212 arrival, server queue = first scheduled \u2212 arrival. Client \u2212 "
    "server TTFT = the client's TTFT minus the server's: the request's way in and the first "
    "token's way out (network, HTTP front, client), each duration measured on its own clock."
)


def server_clock_row(target: str, level: float, runs: Sequence[Run]) -> ServerClockRow | None:
    """The level's server-clock figures over its successful requests; None when none of them
    carried the server's timestamps."""
    completed = [record for run in runs for record in run.records if record.ok]
    measured = [m for record in completed if (m := request_metrics(record)) is not None]
    clock = server_clock(measured, completed)
    if clock is None:
        return None
    return ServerClockRow(target=target, level=level, completed=len(completed), clock=clock)


def _ms(d: Distribution) -> str:
    if d.mean is None or d.p50 is None or d.p99 is None:
        return "\u2013"
    return " / ".join(f"{value / NS_PER_MS:.2f}" for value in (d.mean, d.p50, d.p99))


def server_clock_rows(data: ReportData) -> list[list[str]]:
    """A row per target and level that reported, in target order, then by level."""
    return [
        [
            data.marker.label(row.target),
            f"{row.level:g}",
            f"{row.clock.records}/{row.completed}",
            _ms(row.clock.ttft_ns),
            _ms(row.clock.client_minus_server_ttft_ns),
            _ms(row.clock.queue_ns),
        ]
        for row in data.server_clock
    ]
