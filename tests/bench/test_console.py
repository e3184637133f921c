"""The summary table a person reads after a run."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from crossfade.bench.console import summary_table
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
