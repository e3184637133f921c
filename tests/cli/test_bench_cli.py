"""`crossfade bench` as a person, CI or a Job runs it: exit codes that say whether the target
answered, the errors printed, SIGTERM saving what was measured, progress in a log, and input
errors as messages that name the flag."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossfade.bench.protocol import BenchRequest, ErrorKind
from crossfade.bench.results import load_records, load_result
from crossfade.bench.runner import Interrupt
from crossfade.bench.summary import summarize
from crossfade.bench.workload import Workload
from crossfade.cli import main
from crossfade.cli.bench import exit_code
from tests.bench.test_metrics import make_record
from tests.cli.running import Crossfade, run_crossfade
from tests.support.groundtruth import GroundTruth, running_groundtruth
from tests.support.paths import ROOT
from tests.support.ports import free_port

NO_SERVER = "openai://127.0.0.1:9/v1?model=x"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GroundTruth]:
    with running_groundtruth(tmp_path_factory.mktemp("groundtruth")) as server:
        yield server


@pytest.fixture(scope="module")
def workload_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2000 requests of 8 tokens: about 60 ms each on the server, so a run of them is long."""
    requests = tuple(BenchRequest(i, f"prompt {i}", 2, 8) for i in range(2000))
    path = tmp_path_factory.mktemp("workload") / "workload.jsonl"
    Workload(
        source="test", seed=0, tokenizer="none", tokenizer_fingerprint="none", requests=requests
    ).save(path)
    return path


def bench(target: str, workload: Path, output: Path, *extra: str) -> list[str]:
    return [
        "bench", target, "--workload", str(workload), "--no-server-metrics", "-o", str(output),
        *extra,
    ]  # fmt: skip


# --- a run that says nothing about its target ---------------------------------------------------


@pytest.mark.servers
def test_a_closed_port_exits_3_and_prints_the_error(workload_file: Path, tmp_path: Path) -> None:
    closed = f"openai://127.0.0.1:{free_port()}/v1?model=gt"  # bound, then closed: nobody there
    out = tmp_path / "run"
    args = bench(closed, workload_file, out, "--concurrency", "1", "--requests", "5")
    code, stdout, stderr = run_crossfade(*args, cwd=tmp_path)
    assert code == 3, stderr
    assert "5 connect: ConnectionRefusedError" in stdout  # the table's error row
    assert "the target failed: 5 of 5 measured requests failed" in stderr
    assert "Connection refused" in stderr
    assert "Traceback" not in stderr
    summary = load_result(out).summary
    assert summary.errors[0].kind == "connect"
    assert "Connection refused" in summary.errors[0].messages[0]


@pytest.mark.servers
@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("openai://127.0.0.1:{port}/v2?model=gt", "HTTP 404: not found: /v2/completions"),
        (  # the wrong dialect: Triton's generate endpoint on an OpenAI server
            "triton-vllm://127.0.0.1:{port}/vllm_modle",
            "HTTP 404: not found: /v2/models/vllm_modle/generate_stream",
        ),
    ],
)
def test_a_target_answering_errors_exits_3_with_its_messages(
    server: GroundTruth, workload_file: Path, tmp_path: Path, target: str, message: str
) -> None:
    out = tmp_path / "run"
    url = target.format(port=server.port)
    args = bench(url, workload_file, out, "--concurrency", "1", "--requests", "5")
    code, stdout, stderr = run_crossfade(*args, cwd=tmp_path)
    assert code == 3, stderr
    assert f"5 http_status: {message}" in " ".join(stdout.split())  # a table wraps it in 80
    assert message in stderr
    assert "stopped: completed" in stdout
    assert load_result(out).summary.errors[0].messages == [message]
    shown = run_crossfade("show", str(out), cwd=tmp_path)
    assert shown[0] == 0
    assert message in " ".join(shown[1].split())


@pytest.mark.servers
def test_a_clean_run_exits_0(server: GroundTruth, workload_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = bench(server.target, workload_file, out, "--concurrency", "2", "--requests", "6")
    assert main(args) == 0
    assert load_result(out).summary.errors == []


@pytest.mark.parametrize(
    ("ok", "bad", "stop", "received", "code"),
    [
        (5, 0, "completed", None, 0),
        (5, 0, "duration", None, 0),
        (9, 1, "completed", None, 1),  # some failed
        (5, 5, "completed", None, 1),  # half: still says something about the target
        (5, 0, "error_rate", None, 1),  # stopped early
        (4, 6, "error_rate", None, 3),  # more than half failed
        (0, 5, "completed", None, 3),
        (0, 0, "completed", None, 3),  # nothing measured
        (5, 0, "interrupted", signal.SIGINT, 130),
        (0, 5, "interrupted", signal.SIGTERM, 143),  # the signal's code wins
    ],
)
def test_the_exit_code_rule(
    ok: int, bad: int, stop: str, received: signal.Signals | None, code: int
) -> None:
    records = [make_record(index=n) for n in range(ok)]
    records += [make_record(index=ok + n, error=ErrorKind.HTTP_STATUS) for n in range(bad)]
    interrupt = Interrupt()
    if received is not None:
        interrupt.stop_by(received)
    assert exit_code(stop, summarize(records, 0, 10**9), interrupt) == code


# --- SIGTERM: what a Job deletion, its deadline or an eviction sends ----------------------------


@pytest.mark.servers
@pytest.mark.parametrize(
    ("extra", "group"),
    [
        ([], False),  # Kubernetes signals the container's first process only
        (["--workers", "2"], True),  # `kill` of the whole group: the workers get it too
        (["--shard", "0/1"], False),  # one pod of a sharded Job
    ],
    ids=["one-process", "workers", "shard"],
)
def test_sigterm_saves_every_finished_request_and_exits_143(
    server: GroundTruth, workload_file: Path, tmp_path: Path, extra: list[str], group: bool
) -> None:
    out = tmp_path / "run"
    load = ["--concurrency", "4", "--requests", "2000", "--progress-interval", "0.2"]
    running = Crossfade(*bench(server.target, workload_file, out, *load, *extra), cwd=tmp_path)
    seen = running.wait_for_requests(8)
    running.signal(signal.SIGTERM, group=group)
    code, stdout, stderr = running.finish()
    assert code == 143, stderr
    assert "Traceback" not in stderr
    assert "stopped by SIGTERM" in stderr
    assert "stopped: interrupted" in stdout
    result = load_result(out)
    assert result.run.stop_reason == "interrupted"
    assert any("SIGTERM" in note for note in result.run.notes)
    records = load_records(out)
    finished = [r for r in records if r.ok]
    assert seen <= len(finished) < 2000
    assert all(r.ok or r.error_kind == ErrorKind.CANCELLED for r in records)
    assert result.summary.completed == len(finished)
    if "--workers" in extra:
        assert {r.worker for r in records} == {0, 1}


# --- output that is not a terminal ------------------------------------------------------------


@pytest.mark.servers
def test_piped_output_has_progress_lines_and_the_title_on_its_own_line(
    server: GroundTruth, workload_file: Path, tmp_path: Path
) -> None:
    """As `crossfade bench ... 2>&1 | cat` or a pod's log: both streams in one pipe."""
    out = tmp_path / "run"
    args = bench(server.target, workload_file, out, "--concurrency", "1", "--requests", "12")
    args += ["--name", "gt", "--progress-interval", "0.2"]
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    both = subprocess.run(
        [sys.executable, "-m", "crossfade", *args], cwd=tmp_path, env=env, timeout=60,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True,
    ).stdout  # fmt: skip
    lines = both.splitlines()
    progress = [line for line in lines if line.startswith("gt: ") and " requests, " in line]
    assert len(progress) >= 2, both  # a line at each interval, and the last one
    assert progress[-1].startswith("gt: 12/12 requests, ")
    assert any(line.startswith("gt  [concurrency@1]") for line in lines), both


# --- an earlier result is not replaced unless asked -----------------------------------------


@pytest.mark.servers
def test_an_existing_result_is_refused_unless_overwrite(
    server: GroundTruth, workload_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = bench(server.target, workload_file, out, "--concurrency", "1", "--requests", "2")
    assert main(args) == 0
    first = (out / "requests.jsonl").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"-o {out}: this folder already holds a result (result.json, requests.jsonl)" in err
    assert "--overwrite" in err
    assert (out / "requests.jsonl").read_text(encoding="utf-8") == first
    assert main([*args, "--overwrite"]) == 0
    assert (out / "requests.jsonl").read_text(encoding="utf-8") != first
    (tmp_path / "file").write_text("x", encoding="utf-8")
    on_a_file = bench(server.target, workload_file, tmp_path / "file", "--concurrency", "1")
    assert main([*on_a_file, "--requests", "2"]) == 2
    assert "a file, not a folder" in capsys.readouterr().err


# --- input errors name the flag ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rate", "5", "--arrivals", "weird"], "--arrivals weird: not understood; use constant"),
        (["--rate", "5", "--arrivals", "gamma:0"], "--arrivals gamma:0: not understood"),
        (["--rate", "inf"], "--rate inf: input should be a finite number"),
        (["--rate", "nan"], "--rate nan: input should be a finite number"),
        (["--rate", "0"], "--rate 0: input should be greater than 0"),
        (["--concurrency", "2", "--duration", "-1"], "--duration -1: input should be greater"),
        (["--concurrency", "2", "--duration", "inf"], "--duration inf: input should be a finite"),
        (["--concurrency", "2", "--timeout", "0"], "--timeout 0: input should be greater than 0"),
        (["--concurrency", "0"], "--concurrency 0: input should be greater than 0"),
        (["--concurrency", "2", "--max-error-rate", "2"], "--max-error-rate 2: input should be"),
        (["--concurrency", "2", "--workers", "0"], "--workers 0: give 1 or more"),
        (["--concurrency", "2", "--requests", "0"], "--requests 0: give 1 or more"),
        (["--concurrency", "2", "--warmup", "-1"], "--warmup -1: give 0 or more"),
        (["--concurrency", "2", "--arrivals", "constant"], "--arrivals constant: arrivals shape"),
        (["--concurrency", "2", "--progress-interval", "0"], "--progress-interval 0: give"),
        (["--concurrency", "2", "--input-len", "12x"], "--input-len: length '12x' is not"),
    ],
)
def test_bad_load_flags_are_messages_naming_the_flag(
    workload_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
    message: str,
) -> None:  # fmt: skip
    base = ["bench", NO_SERVER, "--tokenizer", str(tmp_path), "--no-server-metrics"]
    requests = [] if "--requests" in extra else ["--requests", "3"]
    assert main([*base, *requests, *extra, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"crossfade bench: {message}" in err, err
    for field in ("duration_s", "request_timeout_s", "max_error_rate", "warmup_requests"):
        assert field not in err
    assert not (tmp_path / "out").exists(), "nothing was run, nothing is saved"


def test_help_shows_defaults_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "per-request deadline, s (default: 600.0)" in text
    assert "(default: poisson)" in text
    assert "--input-len INPUT_LEN synthetic prompts: N," in text
    assert "(default: 128)" in text
    assert "(default: None)" not in text
    assert "3 the target failed" in text
    assert "143 stopped by SIGTERM" in text


# --- other commands' bad input ---------------------------------------------------------------


@pytest.mark.servers
def test_show_of_a_mistyped_result_names_the_field(
    server: GroundTruth, workload_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    main(bench(server.target, workload_file, out, "--concurrency", "1", "--requests", "2"))
    original = (out / "result.json").read_text(encoding="utf-8")
    for section, field, mistyped in (
        ("summary", "completed", "completd"),
        ("run", "stop_reason", "stop_reasn"),
        ("config", "plan_label", "plan_lable"),
    ):
        data = json.loads(original)
        data[section][mistyped] = data[section].pop(field)
        (out / "result.json").write_text(json.dumps(data), encoding="utf-8")
        capsys.readouterr()
        assert main(["show", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"crossfade show: {out / 'result.json'}: {section}.{field}: Field required" in err


def test_calibrate_refuses_bad_input_before_measuring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calibrate", "--levels", "1", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"-o {tmp_path}: a folder; give the file to write" in err
    assert list(tmp_path.iterdir()) == [], "no .partial left behind"
    for flag, value in (("--ttft-ms", "-5"), ("--itl-ms", "nan"), ("--max-itl-error-ms", "inf")):
        assert main(["calibrate", flag, value, "-o", str(tmp_path / "c.json")]) == 2
        assert f"{flag} {value}: give milliseconds, 0 or more" in capsys.readouterr().err
