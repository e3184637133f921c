"""`crossfade bench` against every target kind the lab serves: no failures, lengths verified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crossfade.cli import main
from tests.support.lab import LabEndpoints

TARGETS = [
    "vllm-triton",
    "vllm-triton-grpc",
    "trtllm-emulated-ensemble",
    "trtllm-emulated-bls",
    "trtllm-emulated-ensemble-grpc",
    "vllm-native",
    "vllm-native-chat",
]


def _bench_twelve(lab: LabEndpoints, name: str, out: Path) -> dict[str, Any]:
    """`crossfade bench` of lab target `name`: 12 requests of 16 tokens at concurrency 4 after
    2 warm-up ones, saved in `out`; its result.json, once the command exited 0."""
    url = next(t.url for t in lab.status.targets() if t.name == name)
    code = main(
        [
            "bench", url, "--name", name, "--tokenizer", str(lab.model_dir),
            "--input-len", "48", "--output-len", "16", "--concurrency", "4",
            "--requests", "12", "--warmup", "2", "-o", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    result: dict[str, Any] = json.loads((out / "result.json").read_text())
    return result


@pytest.mark.parametrize("name", TARGETS)
def test_every_lab_target_completes_a_verified_run(
    lab: LabEndpoints, name: str, tmp_path: Path
) -> None:
    out = tmp_path / name
    result = _bench_twelve(lab, name, out)
    summary = result["summary"]
    assert summary["completed"] == 12
    assert summary["failed"] == 0
    length = summary["output_length"]
    counts = {key: length[key] for key in ("verified", "mismatched", "unverifiable")}
    assert counts == {"verified": 12, "mismatched": 0, "unverifiable": 0}
    assert result["emulated"] is name.startswith("trtllm-")
    assert summary["distributions"]["ttft_ns"]["count"] == 12
    assert summary["distributions"]["itl_ns"]["count"] == 12 * 15
    lines = (out / "requests.jsonl").read_text().splitlines()
    assert len(lines) == 14  # warm-up requests are kept in the raw records
    server = result["server_metrics"]
    assert server is not None
    if not name.startswith("vllm-native"):
        assert server["requests_ok"] >= 12


def test_show_prints_the_saved_summary(
    lab: LabEndpoints, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = next(t.url for t in lab.status.targets() if t.name == "trtllm-emulated-ensemble")
    args = ["bench", url, "--tokenizer", str(lab.model_dir), "--input-len", "32"]
    args += ["--output-len", "8", "--concurrency", "2", "--requests", "4", "-o", str(tmp_path)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["show", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "EMULATED (not TensorRT-LLM)" in out
    assert "4 verified" in out


@pytest.mark.parametrize("name", ["trtllm-emulated-llmapi", "trtllm-emulated-llmapi-grpc"])
def test_the_llmapi_model_runs_with_the_servers_clock_and_counted_lengths(
    lab: LabEndpoints, name: str, tmp_path: Path
) -> None:
    """No exact length can be asked of it: each record's length is the text counted with the
    workload's tokenizer (the emulator runs to max_tokens), and each carries the server's four
    timestamps, in order."""
    out = tmp_path / name
    result = _bench_twelve(lab, name, out)
    assert result["summary"]["completed"] == 12
    assert result["summary"]["failed"] == 0
    assert result["emulated"] is True
    length = result["summary"]["output_length"]
    assert (length["forced"], length["counted"], length["received_mean"]) == (False, 12, 16.0)
    records = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
    assert len(records) == 14
    for record in records:
        times = record["server_times"]
        stamps = [times[k] for k in ("arrival_ns", "first_scheduled_ns", "first_token_ns")]
        assert 0 < stamps[0] <= stamps[1] <= stamps[2] <= times["last_token_ns"], times
        assert record["counted_output_tokens"] == 16, record
        assert record["chunk_tokens"] == [1] * 16  # one word (one token) per response
