"""`crossfade bench --shard I/N` in three processes, as three pods would, then `crossfade merge`:
one result that show and report read, refusals of shards of different runs, and the errors of
the shard options."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossfade.bench.merge import TOGETHER_FLOOR_NS, TOGETHER_SHARE
from crossfade.bench.protocol import BenchRequest
from crossfade.bench.results import load_records, load_result
from crossfade.bench.workload import Workload
from crossfade.cli import main
from crossfade.lab.processes import stop
from tests.support.groundtruth import GroundTruth, start_groundtruth
from tests.support.paths import ROOT
from tests.support.ports import free_port

URL = "openai://127.0.0.1:9/v1?model=x"
LOAD = ["--concurrency", "6", "--requests", "48", "--no-server-metrics"]


def save_workload(path: Path, tokens: int) -> Path:
    requests = tuple(BenchRequest(i, f"prompt {i}", 2, tokens) for i in range(48))
    Workload(
        source="test", seed=0, tokenizer="none", tokenizer_fingerprint="none", requests=requests
    ).save(path)
    return path


@pytest.fixture(scope="module")
def pods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Three shards of one run (shard 2 finds its index in JOB_COMPLETION_INDEX, as in an
    Indexed Job), and shard 1 of a run of another workload (`other`), all in one folder."""
    folder = tmp_path_factory.mktemp("pods")
    server = start_groundtruth(folder, free_port())
    try:
        yield _run_pods(server, folder)
    finally:
        stop(server.process, grace_s=5)


def _run_pods(server: GroundTruth, folder: Path) -> Path:
    ours = save_workload(folder / "workload.jsonl", tokens=8)
    theirs = save_workload(folder / "other.jsonl", tokens=9)
    start_at = f"{time.time() + 5:.3f}"  # every process imported and connected by then
    pods = {
        "shard0": (ours, "0/3", {}),
        "shard1": (ours, "1/3", {}),
        "shard2": (ours, "auto/3", {"JOB_COMPLETION_INDEX": "2"}),
        "other": (theirs, "1/3", {}),
    }
    processes = {}
    for name, (workload, shard, env) in pods.items():
        command = [
            sys.executable, "-m", "crossfade", "bench", server.target, "--workload", str(workload),
            *LOAD, "--shard", shard, "--start-at", start_at, "-o", str(folder / name),
        ]  # fmt: skip
        environ = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **env}
        processes[name] = subprocess.Popen(
            command, cwd=folder, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, (name, stderr)
        assert "stopped: completed" in stdout
        assert "--start-at" in stderr  # each pod said when it would start
    return folder


@pytest.mark.servers
def test_merge_of_three_pods_is_one_result_show_and_report_read(
    pods: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = [str(pods / f"shard{i}") for i in range(3)]
    merged = tmp_path / "merged"
    assert main(["merge", *shards, "-o", str(merged)]) == 0
    out, err = capsys.readouterr()
    assert "shards [0, 1, 2] of 3, 48 records" in out
    assert "clock moved" not in err
    result = load_result(merged)
    assert result.summary.requests == result.summary.completed == 48
    assert result.summary.output_length.verified == 48
    assert result.config.plan_label == "concurrency@6"
    assert result.config.workers == 3
    assert (
        result.config.shards.start_at_unix
        == load_result(pods / "shard0").config.shard.start_at_unix
    )
    records = load_records(merged)
    assert sorted(r.index for r in records) == list(range(48))
    assert {r.index % 3 for r in records if r.worker == 2} == {2}  # auto/3 ran shard 2
    # Every pod's own result keeps its share.
    for index in range(3):
        shard = load_result(pods / f"shard{index}")
        assert shard.config.shard.index == index
        assert shard.config.plan.concurrency == 2
        assert shard.summary.completed == 16
    assert main(["show", str(merged)]) == 0
    assert "48 ok, 0 failed" in capsys.readouterr().out
    report = tmp_path / "report.md"
    assert main(["report", str(merged), "-o", str(report), "--format", "markdown"]) == 0
    assert report.stat().st_size > 0


@pytest.mark.servers
def test_merge_refuses_shards_of_another_workload(
    pods: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = [str(pods / name) for name in ("shard0", "other", "shard2")]
    assert main(["merge", *shards, "-o", str(tmp_path / "merged")]) == 2
    err = capsys.readouterr().err
    ours = load_result(pods / "shard0").config.workload.fingerprint
    theirs = load_result(pods / "other").config.workload.fingerprint
    assert ours != theirs
    assert f"{pods / 'shard0'} and {pods / 'other'} ran different workloads" in err
    assert f"fingerprints {ours} and {theirs}" in err
    assert "Traceback" not in err
    assert not (tmp_path / "merged").exists()


@pytest.mark.servers
def test_merge_of_a_missing_shard_needs_allow_missing_and_exits_1(
    pods: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real shards 0 and 2 of 3 (shard 1 "OOM-killed"): refused, then merged when allowed, with
    the missing share named in the notes and exit 1, so a Job that merges shows it failed."""
    shards = [str(pods / "shard0"), str(pods / "shard2")]
    assert main(["merge", *shards, "-o", str(tmp_path / "merged")]) == 2
    assert "shard 1/3 missing" in capsys.readouterr().err
    assert not (tmp_path / "merged").exists()
    assert main(["merge", *shards, "-o", str(tmp_path / "merged"), "--allow-missing"]) == 1
    out, err = capsys.readouterr()
    assert "shards [0, 2] of 3, 32 records" in out
    assert "crossfade merge: shard 1/3 missing: merged without it" in err
    result = load_result(tmp_path / "merged")
    assert result.summary.requests == result.summary.completed == 32
    assert result.config.shards.merged == [0, 2]
    assert result.config.shards.missing == [1]
    assert "shard 1/3 is missing: its share (requests 1, 4, 7, ...) is not in this result" in (
        result.run.notes
    )
    assert sorted({r.index % 3 for r in load_records(tmp_path / "merged")}) == [0, 2]


@pytest.mark.servers
def test_merge_output_file_or_existing_result_is_a_usage_error(
    pods: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = [str(pods / f"shard{i}") for i in range(3)]
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me\n")
    assert main(["merge", *shards, "-o", str(a_file)]) == 2
    err = capsys.readouterr().err
    assert f"crossfade merge: -o {a_file}: is a file, not a folder; give a folder" in err
    assert "Traceback" not in err
    assert a_file.read_text() == "keep me\n"
    assert main(["merge", *shards, "-o", str(a_file / "sub")]) == 2
    assert f"-o {a_file / 'sub'}: {a_file} is a file, not a folder" in capsys.readouterr().err
    merged = tmp_path / "merged"
    assert main(["merge", *shards[:2], "-o", str(merged), "--allow-missing"]) == 1
    first = (merged / "result.json").read_text()
    assert main(["merge", *shards, "-o", str(merged)]) == 2
    err = capsys.readouterr().err
    assert f"-o {merged}: this folder already holds a result (result.json, requests.jsonl)" in err
    assert "--overwrite to replace it" in err
    assert (merged / "result.json").read_text() == first
    assert main(["merge", *shards, "-o", str(merged), "--overwrite"]) == 0
    assert load_result(merged).config.shards.merged == [0, 1, 2]


@pytest.mark.servers
def test_merge_refuses_pods_that_did_not_run_together(
    pods: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Shard 1 started 15 minutes after the others (its clock says): exit 2, nothing written."""
    late = tmp_path / "shard1"
    shutil.copytree(pods / "shard1", late)
    path = late / "result.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["run"]["wall_minus_monotonic_ns"]["start"] += 900 * 10**9
    data["run"]["wall_minus_monotonic_ns"]["end"] += 900 * 10**9
    path.write_text(json.dumps(data), encoding="utf-8")
    shards = [str(pods / "shard0"), str(late), str(pods / "shard2")]
    assert main(["merge", *shards, "-o", str(tmp_path / "merged")]) == 2
    err = capsys.readouterr().err
    # 900 s plus or minus the pods' own start spread of a few milliseconds.
    assert re.search(r"did not run together: they started (899\.9|900\.0)\d* s apart", err)
    assert re.search(r"shard 1 at \+(899\.9|900\.0)", err)
    assert f"({late})" in err
    assert not (tmp_path / "merged").exists()


def test_merge_help_states_the_bound_it_enforces(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["merge", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert (
        f"more than {TOGETHER_SHARE:.0%} of the run and more than {TOGETHER_FLOOR_NS / 1e9:g}"
        " s apart) are refused, not merged with per-shard windows" in text
    )


@pytest.mark.servers
def test_merge_warns_of_a_pod_whose_clock_is_off(
    pods: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Shard 1's clock mapping moved: by its own clock it started 40 ms after the last of the
    others (pods on a busy machine may have started apart already); under the 0.1 s floor of
    shards that did not run together, so it is merged, with a warning."""
    started = {}
    for name in ("shard0", "shard1", "shard2"):
        run = load_result(pods / name).run
        assert run.wall_minus_monotonic_ns is not None
        started[name] = run.start_ns + run.wall_minus_monotonic_ns.start
    late = tmp_path / "shard1"
    shutil.copytree(pods / "shard1", late)
    path = late / "result.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    shift = max(started["shard0"], started["shard2"]) - started["shard1"] + 40_000_000
    data["run"]["wall_minus_monotonic_ns"]["start"] += shift
    data["run"]["wall_minus_monotonic_ns"]["end"] += shift
    path.write_text(json.dumps(data), encoding="utf-8")
    started["shard1"] += shift
    shards = [str(pods / "shard0"), str(late), str(pods / "shard2")]
    assert main(["merge", *shards, "-o", str(tmp_path / "merged")]) == 0
    err = capsys.readouterr().err
    found = re.search(r"crossfade merge: warning: shard 1 started ([0-9.]+) ms after shard", err)
    assert found is not None, err
    apart_ms = (started["shard1"] - min(started.values())) / 1e6
    assert float(found.group(1)) == pytest.approx(apart_ms, abs=0.11)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "auto/3"], "JOB_COMPLETION_INDEX is not set"),
        (["--shard", "3/3"], "--shard 3/3: give I/N"),
        (["--shard", "one/3"], "--shard one/3: give I/N"),
        (["--shard", "2"], "--shard 2: give I/N"),
        (["--shard", "0/7"], "splits into at most 6 shares"),
        (["--shard", "1/3", "--workers", "2"], "use more pods, not --workers"),
        (["--start-at", "1700000000"], "use it with --shard"),
        (["--shard", "0/3", "--start-at", "1700000000000"], "not milliseconds"),
        (["--shard", "0/3", "--start-at", "nan"], "--start-at nan: give Unix seconds"),
    ],
)
def test_shard_options_errors(
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOB_COMPLETION_INDEX", raising=False)
    workload = save_workload(tmp_path / "workload.jsonl", tokens=8)
    command = ["bench", URL, "--workload", str(workload), *LOAD, "-o", str(tmp_path / "r")]
    assert main([*command, *args]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / "r").exists()
