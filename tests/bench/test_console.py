"""The summary table a person reads after a run."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crossfade.bench.console import EMULATED_MARK, summary_table, summary_title
from crossfade.bench.protocol import BenchRequest
from crossfade.bench.results import load_result
from crossfade.bench.workload import Workload
from crossfade.cli import main
from tests.bench.conftest import GroundTruth


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
    Console(file=buffer, width=200).print(summary_table(result.model_dump()))
    assert f"[{result.config['plan_label']}]" in buffer.getvalue()


def test_the_emulated_mark_is_never_split_by_a_narrow_terminal() -> None:
    result = {
        "name": "triton-trtllm://127.0.0.1:18500/ensemble",
        "emulated": True,
        "config": {"plan_label": "concurrency@2"},
    }
    table = Table(title=summary_title(result), title_justify="left")
    for column in ("ms", "mean", "std", "p50", "p90", "p95", "p99", "p99.9", "n"):
        table.add_column(column)
    buffer = io.StringIO()
    Console(file=buffer, width=80).print(table)
    assert EMULATED_MARK in buffer.getvalue()
    assert "[concurrency@2]" in buffer.getvalue()
