"""The engine build Job and the distributed benchmark Job."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from crossfade.errors import UsageError
from crossfade.render.k8s.bench_job import BenchRun, resolve_bench_run
from crossfade.render.k8s.manifests import render_bench_job
from crossfade.spec import load_spec
from tests.render.k8s.support import (
    SPEC_8B,
    SPEC_70B,
    documents,
    named,
    objects,
    schema_errors,
    spec_with,
)


def words(script: str) -> list[str]:
    return shlex.split(script.replace("\\\n", " "), comments=True)


def test_engine_build_runs_in_the_serving_image_on_the_serving_gpus() -> None:
    spec = load_spec(SPEC_70B)
    assert spec.tensorrtllm is not None
    assert spec.kubernetes is not None
    manifests = objects(spec)
    job = named(manifests, "Job", "llama-3-70b-engine-build")
    serving = named(manifests, "Deployment", "llama-3-70b-tensorrtllm")["spec"]["template"]["spec"]
    pod = job["spec"]["template"]["spec"]
    (build,) = pod["initContainers"]
    (server,) = serving["containers"]
    assert build["image"] == server["image"]
    assert build["resources"]["limits"]["nvidia.com/gpu"] == 4
    assert pod["nodeSelector"] == serving["nodeSelector"]
    assert pod["tolerations"] == serving["tolerations"]
    command = words(build["command"][2])
    assert command[command.index("trtllm-build") :][:4] == [
        "trtllm-build",
        f"--checkpoint_dir={spec.kubernetes.engine_build.checkpoint_dir}",  # type: ignore[union-attr]
        f"--output_dir={spec.tensorrtllm.engine_dir}",
        "--workers=4",
    ]
    assert "--use_paged_context_fmha=enable" in command
    engines = next(m for m in build["volumeMounts"] if m["name"] == "engines")
    assert "readOnly" not in engines


def test_the_stamp_follows_the_build_with_its_gpu_and_image() -> None:
    spec = load_spec(SPEC_8B)
    job = named(objects(spec), "Job", "llama-3-8b-instruct-engine-build")
    pod = job["spec"]["template"]["spec"]
    (build,) = pod["initContainers"]  # init containers finish before the stamp starts
    (stamp,) = pod["containers"]
    assert stamp["image"] == "registry.example/crossfade:0.1.0"
    assert "nvidia.com/gpu" not in str(stamp.get("resources"))
    assert "> /handoff/gpu" in build["command"][2]
    command = stamp["command"][2]
    assert "crossfade engine stamp /engines/llama-3-8b-instruct/bf16-tp1" in command
    assert f"--image={build['image']}" in command
    assert '--gpu="$(cat /handoff/gpu)"' in command
    assert pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0


def test_spec_bench_jobs_are_indexed_one_per_backend() -> None:
    spec = load_spec(SPEC_8B)
    assert spec.kubernetes is not None
    assert spec.kubernetes.bench is not None
    manifests = objects(spec)
    for backend, target in (
        (
            "tensorrtllm",
            "triton-trtllm://llama-3-8b-instruct-tensorrtllm.llm.svc.cluster.local:8000"
            "/tensorrt_llm_bls",
        ),
        ("vllm", "triton-vllm://llama-3-8b-instruct-vllm.llm.svc.cluster.local:8000/ensemble"),
    ):
        job = named(manifests, "Job", f"llama-3-8b-instruct-bench-{backend}")
        spec_part = job["spec"]
        pods = spec.kubernetes.bench.pods
        assert spec_part["completionMode"] == "Indexed"
        assert spec_part["completions"] == spec_part["parallelism"] == pods
        assert spec_part["backoffLimitPerIndex"] == 0
        (bench,) = spec_part["template"]["spec"]["containers"]
        script = bench["command"][2]
        command = words(script)
        start = command.index("bench") - 1
        assert command[start : start + 3] == ["crossfade", "bench", target]
        assert f"--shard=auto/{pods}" in command
        assert "--concurrency=64" in command  # the total: bench --shard takes its own share
        assert "--requests=2000" in command
        assert "--tokenizer=/models/llama-3-8b-instruct" in command
        assert '--start-at="$start_at"' in script
        assert '--output="$run/shard-$JOB_COMPLETION_INDEX"' in script
        assert 'mkdir "$run/start-lock"' in script  # no --start-at: the first pod fixes it
        assert "+ 60 ))" in script
        assert f"-ge {pods} ]" in script
        assert 'crossfade merge --allow-missing "$@" -o "$run/merged"' in script
        assert "--timeout=600" in command
        # 2000 requests over 4 pods at 16 slots each: 32 rounds of at most one 600 s deadline,
        # + 60 s slack; + 600 s start-up + 60 s start delay + 660 s pod 0's wait + 300 s merge.
        assert spec_part["activeDeadlineSeconds"] == 32 * 600 + 60 + 600 + 60 + 660 + 300
        assert "give_up=$(( $(date +%s) + 660 ))" in script
        mounts = {m["name"]: m for m in bench["volumeMounts"]}
        assert mounts["results"] == {"name": "results", "mountPath": "/results"}
        assert mounts["weights"]["readOnly"] is True
        (env,) = bench["env"]
        assert env["valueFrom"]["fieldRef"]["fieldPath"].endswith(
            "['batch.kubernetes.io/controller-uid']"
        )


def test_bench_job_by_hand_overrides_the_spec() -> None:
    spec = load_spec(SPEC_8B)
    run = resolve_bench_run(
        spec,
        backend="vllm",
        start_at=1767225600,
        load={"pods": 3, "rate": 12.5, "duration_s": 300.0, "concurrency": None},
    )
    assert run.settings.concurrency is None  # a rate on the command line replaces it
    assert run.settings.requests == 2000  # kept from the spec
    tree = render_bench_job(spec, "llama-3-8b.yaml", run)
    (path,) = tree.files
    assert path == "llama-3-8b-instruct-bench-vllm.yaml"
    (job,) = documents(tree.files[path])
    assert schema_errors(job) == []
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == 3
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert "start_at=1767225600" in script
    assert "start-lock" not in script
    command = words(script)
    assert "--rate=12.5" in command
    assert "--duration=300" in command
    assert not [w for w in command if w.startswith("--concurrency")]


def test_bench_job_with_a_target_url_and_label() -> None:
    run = resolve_bench_run(
        load_spec(SPEC_70B),
        target="openai://llm.example.com:443/v1?model=llama",
        label="gateway",
        load={"pods": 2},
    )
    assert run == BenchRun(
        "gateway", "openai://llm.example.com:443/v1?model=llama", run.settings, None
    )
    assert run.settings.rate == 8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "choose --backend"),
        ({"backend": "vllm", "load": {"pods": 100}}, "less than pods 100"),
        ({"backend": "vllm", "load": {"concurrency": 4, "rate": 2.0}}, "exactly one"),
        ({"backend": "vllm", "start_at": 1767225600000}, "not milliseconds"),
        ({"backend": "vllm", "label": "Bad_Name"}, "lowercase"),
        ({"backend": "vllm", "load": {"extra_args": ["--timeout=5"]}}, "as request_timeout_s"),
    ],
)
def test_bench_job_refuses_unrunnable_requests(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve_bench_run(load_spec(SPEC_8B), **kwargs)


def test_bench_job_needs_the_crossfade_image_and_a_results_volume() -> None:
    def no_bench(data: dict[str, Any]) -> None:
        del data["kubernetes"]["bench"]
        del data["kubernetes"]["storage"]["results"]

    spec = spec_with(no_bench)
    run = resolve_bench_run(spec, backend="vllm", load={"concurrency": 8, "requests": 100})
    with pytest.raises(UsageError, match=r"kubernetes\.storage\.results"):
        render_bench_job(spec, "spec.yaml", run)

    def no_image(data: dict[str, Any]) -> None:
        del data["kubernetes"]["bench"]
        del data["kubernetes"]["engine_build"]
        del data["kubernetes"]["crossfade_image"]

    spec = spec_with(no_image)
    run = resolve_bench_run(spec, backend="vllm", load={"concurrency": 8, "requests": 100})
    with pytest.raises(UsageError, match=r"kubernetes\.crossfade_image"):
        render_bench_job(spec, "spec.yaml", run)


# fake_crossfade stands in for the real tool only to test the pod script's shell logic: it
# records its arguments; as `bench` it saves a result.json unless BENCH_EXIT is set (a shard that
# failed before saving), or sleeps for BENCH_SLEEP (so the pod can be stopped meanwhile).
FAKE_CROSSFADE = """#!/bin/sh
echo "$JOB_COMPLETION_INDEX $*" >> "$CALLS"
if [ "$1" = bench ]; then
  for arg in "$@"; do
    case "$arg" in --output=*) output="${arg#--output=}" ;; esac
  done
  if [ -n "${BENCH_SLEEP:-}" ]; then exec sleep "$BENCH_SLEEP"; fi
  if [ -n "${BENCH_EXIT:-}" ]; then exit "$BENCH_EXIT"; fi
  mkdir -p "$output" && echo {} > "$output/result.json"
fi
"""


def fake_crossfade(tmp_path: Path) -> Path:
    """A folder for PATH whose `crossfade` is fake_crossfade."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "fake_crossfade"
    fake.write_text(FAKE_CROSSFADE)
    fake.chmod(0o755)
    (bin_dir / "crossfade").symlink_to(fake)
    return bin_dir


class Pods:
    """The rendered bench Job of 3 pods, its pod script run with sh as pod I would run it."""

    def __init__(self, tmp_path: Path, **bench: Any) -> None:
        results = tmp_path / "results"

        def change(data: dict[str, Any]) -> None:
            data["kubernetes"]["storage"]["results"]["mount_path"] = str(results)
            data["kubernetes"]["bench"] |= {"pods": 3, **bench}

        self.job = named(objects(spec_with(change)), "Job", "llama-3-8b-instruct-bench-vllm")
        self.script = self.job["spec"]["template"]["spec"]["containers"][0]["command"][2]
        self.bin_dir = fake_crossfade(tmp_path)
        self.calls = tmp_path / "calls"
        self.run_dir = results / "llama-3-8b-instruct-bench-vllm" / "uid-1"

    def env(self, index: int, **more: str) -> dict[str, str]:
        return {
            "PATH": f"{self.bin_dir}:{os.environ['PATH']}",
            "CALLS": str(self.calls),
            "RUN_ID": "uid-1",
            "JOB_COMPLETION_INDEX": str(index),
            **more,
        }

    def run(self, index: int, **more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", "-c", self.script],
            env=self.env(index, **more),
            timeout=30,
            check=False,
            capture_output=True,
            text=True,
        )

    def calls_of(self, command: str) -> list[str]:
        lines = self.calls.read_text().splitlines()
        return [line for line in lines if line.split()[1] == command]


@pytest.mark.servers
def test_bench_pods_share_one_start_and_pod_zero_merges(tmp_path: Path) -> None:
    pods = Pods(tmp_path)
    for index in (2, 1, 0):  # pod 0 last, so it finds every shard done and merges at once
        done = pods.run(index)
        assert done.returncode == 0, done.stderr
    run = pods.run_dir
    benches = pods.calls_of("bench")
    assert [line.split()[0] for line in benches] == ["2", "1", "0"]
    starts = {word for line in benches for word in line.split() if word.startswith("--start-at=")}
    assert starts == {f"--start-at={(run / 'start-at').read_text().strip()}"}
    assert all("--shard=auto/3" in line for line in benches)
    (merge,) = pods.calls_of("merge")
    assert merge.split() == [
        "0", "merge", "--allow-missing", *(str(run / f"shard-{i}") for i in range(3)),
        "-o", str(run / "merged"),
    ]  # fmt: skip
    assert sorted(p.name for p in (run / "done").iterdir()) == ["0", "1", "2"]


@pytest.mark.servers
def test_pod_zero_gives_up_on_a_shard_that_never_ends_merges_the_rest_and_fails(
    tmp_path: Path,
) -> None:
    """Pod 1 was OOM-killed (no done marker, no result): pod 0 waits shard_wait_s, then merges
    shards 0 and 2, names shard 1 and exits 1."""
    pods = Pods(tmp_path, shard_wait_s=2)
    assert "give_up=$(( $(date +%s) + 2 ))" in pods.script
    assert pods.run(2).returncode == 0
    done = pods.run(0)
    assert done.returncode == 1
    assert "no result from shard(s) 1 of 3" in done.stderr
    assert "not done 2 s after shard 0" in done.stderr
    (merge,) = pods.calls_of("merge")
    run = pods.run_dir
    assert merge.split() == [
        "0", "merge", "--allow-missing", str(run / "shard-0"), str(run / "shard-2"),
        "-o", str(run / "merged"),
    ]  # fmt: skip
    assert not (run / "done" / "1").exists()


@pytest.mark.servers
def test_a_stopped_or_failed_shard_leaves_a_marker_so_pod_zero_does_not_wait(
    tmp_path: Path,
) -> None:
    """Pod 1 is stopped (TERM, as an eviction or the Job's deadline would): the TERM reaches
    bench at once and the pod marks itself done with bench's status. Pod 2's bench fails before
    saving. Pod 0, with the default wait of 660 s, merges at once without both and fails."""
    pods = Pods(tmp_path)
    pod1 = subprocess.Popen(
        ["sh", "-c", pods.script], env=pods.env(1, BENCH_SLEEP="60"), stderr=subprocess.DEVNULL
    )
    marker = pods.run_dir / "done" / "1"
    try:
        for _ in range(200):  # until its bench has started
            if pods.calls.exists() and pods.calls_of("bench"):
                break
            time.sleep(0.05)
        pod1.send_signal(signal.SIGTERM)
        assert pod1.wait(timeout=10) == 143  # sleep's TERM status, long before its 60 s
    finally:
        pod1.kill()
        pod1.wait()
    assert marker.read_text().strip() == "143"
    failed = pods.run(2, BENCH_EXIT="3")
    assert failed.returncode == 3
    assert (pods.run_dir / "done" / "2").read_text().strip() == "3"
    done = pods.run(0)  # inside the 30 s timeout of `run`: it did not wait 660 s
    assert done.returncode == 1
    assert "no result from shard(s) 1 2 of 3" in done.stderr
    (merge,) = pods.calls_of("merge")
    assert merge.split()[3:5] == [str(pods.run_dir / "shard-0"), "-o"]


def test_the_job_deadline_follows_the_load() -> None:
    """Open loop for a duration (the 70B example): 600 s of sending + one 600 s deadline + 60 s
    slack; + 600 s start-up + 60 s start delay + 660 s pod 0's wait + 300 s merge."""
    job = named(objects(load_spec(SPEC_70B)), "Job", "llama-3-70b-bench-tensorrtllm")
    assert job["spec"]["activeDeadlineSeconds"] == 600 + 600 + 60 + 600 + 60 + 660 + 300

    def requests_at_a_rate(data: dict[str, Any]) -> None:
        data["kubernetes"]["bench"] |= {"concurrency": None, "rate": 10, "requests": 1000}
        data["kubernetes"]["bench"] |= {"request_timeout_s": 30, "shard_wait_s": 120}

    job = named(objects(spec_with(requests_at_a_rate)), "Job", "llama-3-8b-instruct-bench-vllm")
    # Twice the 100 s schedule + one 30 s deadline + 60 s; 600 + 60 before, 120 + 300 after.
    assert job["spec"]["activeDeadlineSeconds"] == 200 + 30 + 60 + 600 + 60 + 120 + 300
    assert "--timeout=30" in words(job["spec"]["template"]["spec"]["containers"][0]["command"][2])

    def given(data: dict[str, Any]) -> None:
        data["kubernetes"]["bench"]["active_deadline_s"] = 5400

    job = named(objects(spec_with(given)), "Job", "llama-3-8b-instruct-bench-vllm")
    assert job["spec"]["activeDeadlineSeconds"] == 5400


@pytest.mark.servers
def test_build_hands_its_gpu_name_to_the_stamp(tmp_path: Path) -> None:
    """The build script, then the stamp script, with stand-ins for the tools they call."""
    job = named(objects(load_spec(SPEC_8B)), "Job", "llama-3-8b-instruct-engine-build")
    pod = job["spec"]["template"]["spec"]
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tools = {
        "trtllm-build": 'echo "$@" > "$OUT/build-args"',
        "nvidia-smi": 'printf "NVIDIA H100 80GB HBM3\\nNVIDIA H100 80GB HBM3\\n"',
        "crossfade": 'for arg in "$@"; do echo "$arg"; done > "$OUT/stamp-args"',
    }
    for tool, body in tools.items():
        path = bin_dir / tool
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "OUT": str(tmp_path)}
    for container in (pod["initContainers"][0], pod["containers"][0]):
        script = container["command"][2].replace("/handoff", str(handoff))
        done = subprocess.run(["sh", "-c", script], env=env, timeout=30, check=False)
        assert done.returncode == 0
    assert (tmp_path / "build-args").read_text().split()[1] == (
        "--output_dir=/engines/llama-3-8b-instruct/bf16-tp1"
    )
    stamp_args = (tmp_path / "stamp-args").read_text().splitlines()
    assert stamp_args == [
        "engine",
        "stamp",
        "/engines/llama-3-8b-instruct/bf16-tp1",
        "--image=registry.example/nvidia/tritonserver:25.12-trtllm-python-py3",
        "--gpu=NVIDIA H100 80GB HBM3",
    ]
