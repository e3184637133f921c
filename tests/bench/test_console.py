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
    error_rows,
    summary_table,
    summary_title,
)
from crossfade.bench.protocol import BenchRequest, ErrorKind, RequestRecord
from crossfade.bench.results import load_result
from crossfade.bench.summary import ErrorGroup
from crossfade.bench.workload import Workload
from crossfade.cli import main
from tests.support.groundtruth import GroundTruth


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
