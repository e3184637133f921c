"""`crossfade compare`: input errors as messages, a whole sweep over two ground-truth servers,
re-analysis with --from, and Ctrl-C saving what was measured."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossfade.bench.protocol import BenchRequest
from crossfade.bench.results import load_records, load_result
from crossfade.bench.sweep_index import load_sweep
from crossfade.bench.workload import Workload
from crossfade.cli import main
from crossfade.compare.defaults import DEFAULT_MARGIN, DEFAULT_REPEATS
from crossfade.lab.processes import stop
from tests.cli.running import Crossfade
from tests.support.groundtruth import GroundTruth, start_groundtruth
from tests.support.paths import ROOT
from tests.support.ports import free_port

URL = "openai://127.0.0.1:9/v1?model=x"
OTHER = "openai://127.0.0.1:10/v1?model=x"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, GroundTruth]]:
    """fast: 20 ms TTFT, slow: 40 ms, both 5 ms ITL."""
    started: dict[str, GroundTruth] = {}
    try:
        for name, ttft in (("fast", 20.0), ("slow", 40.0)):
            folder = tmp_path_factory.mktemp(name)
            started[name] = start_groundtruth(folder, free_port(), ttft_ms=ttft, itl_ms=5.0)
        yield started
    finally:
        for server in started.values():
            stop(server.process, grace_s=5)


@pytest.fixture
def workload_file(tmp_path: Path) -> Path:
    requests = tuple(BenchRequest(i, f"prompt {i}", 2, 8) for i in range(16))
    workload = Workload(
        source="test", seed=0, tokenizer="none", tokenizer_fingerprint="none", requests=requests
    )
    path = tmp_path / "workload.jsonl"
    workload.save(path)
    return path


def compare(*args: str, cwd: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "crossfade", "compare", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # Its own process group, so a test can interrupt it as a terminal's Ctrl-C would.
    return subprocess.Popen(
        command, cwd=cwd, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(process: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
    try:
        return process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([URL, "--concurrency", "1", "-o", "x"], "compare needs two or more targets, got 1"),
        (
            [URL, OTHER, "--concurrency", "1", "--rates", "2", "-o", "x"],
            "give exactly one of --concurrency LEVELS or --rates LEVELS",
        ),
        ([URL, OTHER, "-o", "x"], "give exactly one of --concurrency LEVELS or --rates LEVELS"),
        ([URL, OTHER, "--concurrency", "1"], "give -o DIR, a new folder for the sweep"),
        (
            [URL, URL, "--concurrency", "1", "-o", "x"],
            f"two targets are named {URL!r}; give each target its own --name",
        ),
        (
            [URL, OTHER, "--name", "a", "--name", "a", "--concurrency", "1", "-o", "x"],
            "two targets are named 'a'; give each target its own --name",
        ),
        (
            [URL, OTHER, "--name", "a", "--concurrency", "1", "-o", "x"],
            "1 --name for 2 targets; give --name once per target",
        ),
        (
            [URL, OTHER, "--concurrency", "1,2.5", "-o", "x"],
            "--concurrency 1,2.5: '2.5': a concurrency is a whole number of at least 1",
        ),
        ([URL, OTHER, "--rates", "1,-2", "-o", "x"], "--rates 1,-2: '-2': a rate is requests"),
        ([URL, OTHER, "--concurrency", "1", "-o", "x", "--repeat", "0"], "--repeat 0: give 1"),
        (
            [URL, OTHER, "--concurrency", "2", "-o", "x", "--workload", "/nonexistent.jsonl"],
            "give --requests, --duration or both",
        ),
        ([URL, "--from", "x"], "--from DIR analyses a saved sweep: give no targets"),
        (["--from", "x", "--confidence", "1.5"], "--confidence 1.5: give a share between 0 and 1"),
        (["--from", "x", "--margin", "150"], "--margin 150: give a percentage from 0 to under 100"),
    ],
)
def test_bad_input_is_a_message_and_exit_2(
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["compare", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("crossfade compare: ")
    assert not (tmp_path / "x").exists(), "nothing written for bad input"


def test_the_help_states_the_defaults_compare_uses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default {DEFAULT_MARGIN * 100:g}: 'equivalent' inside it" in text
    assert f"runs per target and level (default {DEFAULT_REPEATS};" in text


def test_a_folder_with_a_sweep_is_not_overwritten_and_from_needs_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sweep.json").write_text("{}", encoding="utf-8")
    args = ["compare", URL, OTHER, "--concurrency", "1", "--requests", "2", "-o", str(tmp_path)]
    assert main(args) == 2
    assert f"re-analyse it with --from {tmp_path}" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["compare", "--from", str(empty)]) == 2
    assert "no sweep here" in capsys.readouterr().err


# --- whole sweeps ----------------------------------------------------------------------------


@pytest.mark.servers
def test_compare_runs_saves_and_reanalyses(
    servers: dict[str, GroundTruth], workload_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    process = compare(
        servers["fast"].target, servers["slow"].target, "--name", "fast", "--name", "slow",
        "--concurrency", "2,1", "--repeat", "2", "--requests", "4", "--workload",
        str(workload_file), "--no-server-metrics", "-o", str(out), cwd=tmp_path,
    )  # fmt: skip
    stdout, stderr = finish(process)
    assert process.returncode == 0, stderr
    index = load_sweep(out)
    assert index.levels == [1, 2]
    assert index.stop_reason == "completed"
    assert len(index.runs) == 8
    for run in index.runs:
        assert (out / run.folder / "result.json").is_file()
    # One line per run that stays on the screen, in the order the runs went.
    lines = [line for line in stderr.splitlines() if line.startswith("[")]
    assert len(lines) == 8
    assert lines[0].startswith("[1/8] fast concurrency 1 repeat 1/2: 4 ok, 0 failed")
    assert lines[4].startswith("[5/8] slow concurrency 1 repeat 2/2: 4 ok, 0 failed")
    assert "Traceback" not in stderr
    assert f"saved {out / 'comparison.json'}" in stdout
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert comparison["workload_fingerprint"] == index.workload_fingerprint
    assert [t["name"] for t in comparison["targets"]] == ["fast", "slow"]

    (out / "comparison.json").unlink()
    again = compare("--from", str(out), "--confidence", "0.9", cwd=tmp_path)
    stdout, stderr = finish(again)
    assert again.returncode == 0, stderr
    reanalysed = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert reanalysed["confidence"] == 0.9
    assert load_sweep(out) == index, "re-analysis runs nothing"


@pytest.mark.servers
def test_a_target_that_answered_nothing_gets_no_verdict_and_exit_3(
    servers: dict[str, GroundTruth], workload_file: Path, tmp_path: Path
) -> None:
    closed = free_port()  # nothing listens there: every request fails to connect
    out = tmp_path / "sweep"
    process = compare(
        servers["fast"].target, f"openai://127.0.0.1:{closed}/v1?model=x", "--name", "fast",
        "--name", "closed", "--concurrency", "1", "--requests", "3", "--workload",
        str(workload_file), "--no-server-metrics", "-o", str(out), cwd=tmp_path,
    )  # fmt: skip
    stdout, stderr = finish(process)
    assert process.returncode == 3, stderr
    assert "closed: failed at every level measured" in stdout
    assert "fast vs closed" not in stdout
    assert "closed vs fast" not in stdout
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert [f["target"] for f in comparison["failures"]] == ["closed"]
    assert "Connection refused" in comparison["failures"][0]["errors"][0]["messages"][0]
    again = compare("--from", str(out), cwd=tmp_path)
    finish(again)
    assert again.returncode == 3


@pytest.mark.servers
def test_ctrl_c_stops_the_sweep_after_saving(
    servers: dict[str, GroundTruth], workload_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    process = compare(
        servers["fast"].target, servers["slow"].target, "--name", "fast", "--name", "slow",
        "--concurrency", "1", "--repeat", "3", "--requests", "30", "--workload",
        str(workload_file), "--no-server-metrics", "-o", str(out), cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not (out / "sweep.json").is_file() or not load_sweep(out).runs:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no run finished"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
    finally:
        _, stderr = finish(process)
    assert process.returncode == 130, stderr  # stopped by SIGINT, after saving
    assert "Traceback" not in stderr
    index = load_sweep(out)
    assert index.stop_reason == "interrupted"
    assert 1 <= len(index.runs) < 6
    assert index.runs[0].stop_reason == "completed"
    for run in index.runs:
        assert (out / run.folder / "result.json").is_file()


@pytest.mark.servers
def test_sigterm_stops_the_sweep_like_ctrl_c_and_exits_143(
    servers: dict[str, GroundTruth], workload_file: Path, tmp_path: Path
) -> None:
    """What a Job's deletion sends, to the first process only; progress lines show in a log."""
    out = tmp_path / "sweep"
    running = Crossfade(
        "compare", servers["fast"].target, servers["slow"].target, "--name", "fast", "--name",
        "slow", "--concurrency", "1", "--repeat", "2", "--requests", "2000", "--workload",
        str(workload_file), "--no-server-metrics", "--progress-interval", "0.2", "-o", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    seen = running.wait_for_requests(5)
    running.signal(signal.SIGTERM)
    code, _, stderr = running.finish()
    assert code == 143, stderr
    assert "Traceback" not in stderr
    assert any(
        line.startswith("[1/4] fast concurrency 1 repeat 1/2: ") for line in stderr.split("\n")
    )
    index = load_sweep(out)
    assert index.stop_reason == "interrupted"
    assert [run.stop_reason for run in index.runs] == ["interrupted"]
    result = load_result(out / index.runs[0].folder)
    assert any("SIGTERM" in note for note in result.run.notes)
    assert (
        seen
        <= result.summary.completed
        == sum(r.ok for r in load_records(out / index.runs[0].folder))
    )
