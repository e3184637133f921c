"""`crossfade demo` against the session's real lab: the whole path, on a short sweep."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from crossfade.project.environment import projection_python
from tests.support.lab import LabEndpoints

EMULATED = "trtllm-emulated-llmapi"


def test_demo_writes_the_report_the_advice_and_every_run(lab: LabEndpoints, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    command = [
        sys.executable, "-m", "crossfade", "demo", "-o", str(out), "--levels", "1,4",
        "--repeat", "2", "--lab-dir", str(lab.settings.folder),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "using the lab already running" in done.stderr  # it did not start a second lab
    assert lab.status.running  # and did not stop the one it found

    sweep = json.loads((out / "sweep" / "sweep.json").read_text())
    assert sweep["stop_reason"] == "completed"
    assert len(sweep["runs"]) == 3 * 2 * 2
    assert {t["name"]: t["emulated"] for t in sweep["targets"]} == {
        "vllm-triton": False, "vllm-native": False, EMULATED: True,
    }  # fmt: skip
    # The order alternates: the first target of repetition 1 is not that of repetition 0.
    firsts = [r["target"] for r in sorted(sweep["runs"], key=lambda r: r["order"])][::3]
    assert firsts[0] != firsts[2]
    # The LLM API model's every request carries the server's own four timestamps.
    for run in (r for r in sweep["runs"] if r["target"] == EMULATED):
        lines = (out / "sweep" / run["folder"] / "requests.jsonl").read_text().splitlines()
        assert lines
        assert all(json.loads(line)["server_times"] for line in lines), run
    comparison = json.loads((out / "sweep" / "comparison.json").read_text())
    assert len(comparison["pairs"]) == 3

    html = (out / "report.html").read_text()
    assert 'id="chart-' in html
    # Every mention of the emulated target in the report carries its mark.
    for match in re.finditer(re.escape(EMULATED), html):
        assert "EMULATED" in html[match.start() : match.end() + 40], html[match.start() - 80 :][
            :200
        ]
    advice = (out / "advice.md").read_text()
    assert advice.startswith("# Recommendation:")
    assert "not TensorRT-LLM evidence" in advice
    assert "```mermaid" in advice
    assert str(out / "report.html") in done.stdout
    assert "  output tokens/s: " in done.stdout  # each pair's throughput verdict is printed
    # The example deployment's projection, where the projection environment exists (scripts/test
    # makes it): in the report as projected curves, in the advice as its evidence.
    if projection_python().is_file():
        projection = json.loads((out / "projection.json").read_text())
        assert projection["inputs"]["model"] == "llama-3-70b-instruct"
        assert "TensorRT-LLM (projected): llama-3-70b-instruct, 4x H100" in html
        assert "## Projection (AIConfigurator; projected, not measured)" in advice
        assert f"`projection:{out / 'projection.json'}: projected at concurrency 16`" in advice
        assert "projection: projected llama-3-70b-instruct" in done.stdout
    else:
        assert "no projection (the projection environment is missing" in done.stderr
