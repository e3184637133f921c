"""The summary table a person reads after a run."""

from __future__ import annotations

import io
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crossfade.bench.console import (
    EMULATED_MARK,
    LiveProgress,
    SweepConsole,
    error_rows,
    summary_table,
    summary_title,
)
from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.protocol import BenchRequest, ErrorKind, RequestRecord
from crossfade.bench.results import BenchResult, load_result
from crossfade.bench.summary import ErrorGroup, summarize
from crossfade.bench.sweep import FinishedRun, PlannedRun
from crossfade.bench.workload import Workload
from crossfade.cli import main
from tests.bench.test_metrics import MS, make_record
from tests.bench.test_summary import with_server_times
from tests.support.groundtruth import GroundTruth
from tests.support.results import bench_result


def test_the_summary_title_shows_the_plan_label(groundtruth: GroundTruth, tmp_path: Path) -> None:
    out = tmp_path / "run"
    workload = tmp_path / "w.jsonl"
    Workload(
        source="test", seed=0, tokenizer="none", tokenizer_fingerprint="none",
        requests=tuple(BenchRequest(i, f"p {i}", 2, 4) for i in range(8)),
    ).save(workload)  # fmt: skip
    code = main(["bench", groundtruth.target, "--workload", str(workload), "--concurrency", "2",
                 "--requests", "8", "--no-server-metrics", "-o", str(out)])  # fmt: skip
    assert code == 0
    result = load_result(out)
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(summary_table(result))
    assert f"[{result.config.plan_label}]" in buffer.getvalue()


def test_the_emulated_mark_is_never_split_by_a_narrow_terminal() -> None:
    title = summary_title("triton-trtllm://127.0.0.1:18500/ensemble", "concurrency@2", True)
    table = Table(title=title, title_justify="left")
    for column in ("ms", "mean", "std", "p50", "p90", "p95", "p99", "p99.9", "n"):
        table.add_column(column)
    buffer = io.StringIO()
    Console(file=buffer, width=80).print(table)
    assert EMULATED_MARK in buffer.getvalue()
    assert "[concurrency@2]" in buffer.getvalue()


def test_errors_show_by_kind_with_their_messages_unstyled() -> None:
    groups = [
        ErrorGroup(kind=ErrorKind.HTTP_STATUS, count=3, messages=["HTTP 500: [model] not\nfound"]),
        ErrorGroup(kind=ErrorKind.CONNECT, count=1, messages=["refused"]),
    ]
    rows = [(label.plain, text.plain) for label, text in error_rows(groups)]
    assert rows == [
        ("error", "3 http_status: HTTP 500: [model] not found"),  # brackets kept: not markup
        ("error", "1 connect: refused"),
    ]
    assert error_rows([])[0][1].plain == "none"
    older = [ErrorGroup(kind=ErrorKind.CONNECT, count=2, messages=[])]  # saved before messages
    assert [t.plain for _, t in error_rows(older)] == ["2 connect"]


def test_progress_off_a_terminal_is_a_plain_line_at_each_interval() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=40)  # not a terminal, and narrow
    record = RequestRecord(0, 2, 1, 0, sent_ns=0, first_byte_ns=5_000_000, end_ns=9_000_000)
    record.chunk_ns, record.chunk_tokens = [5_000_000], [1]
    with LiveProgress(console, "a-long-target-name", 10, interval_s=0.05) as progress:
        progress.on_record(record)
        deadline = time.monotonic() + 10
        while buffer.getvalue().count("\n") < 2:  # two interval lines, whole and unwrapped
            assert time.monotonic() < deadline
            time.sleep(0.01)
    lines = buffer.getvalue().splitlines()
    assert all(line.startswith("a-long-target-name: 1/10 requests, ") for line in lines)
    assert "TTFT p50 5.0 ms" in lines[-1]
    assert len(lines) >= 3  # and the last one when it stops
    transient = io.StringIO()
    with LiveProgress(Console(file=transient), "x", None, interval_s=60, transient=True):
        pass
    assert transient.getvalue() == ""  # a sweep prints its own line per run


def server_clock_result(reported: int) -> BenchResult:
    """Four requests of client TTFT 10 ms; the first `reported` say the server's TTFT was 4 ms
    after a 1 ms queue."""
    records = [make_record(index=i, sent=i * MS, chunks=((i * MS + 10 * MS, 1),)) for i in range(4)]
    for record in records[:reported]:
        with_server_times(record, 1, 4)
    summary = summarize(records, 0, 20 * MS)
    return bench_result("t", LoadPlan(concurrency=1, requests=4), summary, start_ns=0, records=4)


def printed(result: BenchResult) -> list[str]:
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(summary_table(result))
    return [" ".join(line.replace("│", " ").split()) for line in buffer.getvalue().splitlines()]


def test_the_servers_own_figures_show_under_the_clients_ttft() -> None:
    lines = printed(server_clock_result(reported=3))
    at = next(i for i, line in enumerate(lines) if line.startswith("TTFT 10.00"))
    assert lines[at + 1].startswith("server TTFT (its clock) 4.00 0.00 4.00")
    assert lines[at + 1].endswith(" 3")
    assert lines[at + 2].startswith("client - server TTFT 6.00")
    assert lines[at + 3].startswith("server queue (its clock) 1.00")
    assert lines[at + 4].startswith("TTFT (from intended send)")
    assert "server clock 3 of 4 ok requests carried the server's own timestamps" in lines


def test_no_server_rows_when_no_request_reported_its_times() -> None:
    text = "\n".join(printed(server_clock_result(reported=0)))
    assert "server TTFT" not in text
    assert "server clock" not in text


def test_a_sweeps_run_line_gives_the_servers_ttft_beside_the_clients(tmp_path: Path) -> None:
    buffer = io.StringIO()
    plan = LoadPlan(concurrency=1, requests=4)
    with SweepConsole(Console(file=buffer, width=200), 1, 1, 60.0) as sweep:
        for reported in (2, 0):
            planned = PlannedRun(target="t", level=1, repeat=0, order=0)
            sweep.run_started(planned, plan)
            result = server_clock_result(reported)
            sweep.run_finished(FinishedRun(planned, tmp_path, StopReason.COMPLETED, 1.0, result))
    with_server, without = buffer.getvalue().splitlines()[-2:]
    assert "TTFT p50 10.0 ms (server's 4.0 ms)," in with_server
    assert "TTFT p50 10.0 ms," in without
