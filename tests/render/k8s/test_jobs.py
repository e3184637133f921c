"""The engine build Job and the distributed benchmark Job."""

from __future__ import annotations

import os
import shlex
import subprocess
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
        assert 'crossfade merge --allow-missing "$run"/shard-* -o "$run/merged"' in script
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


FAKE_CROSSFADE = """#!/bin/sh
echo "$JOB_COMPLETION_INDEX $*" >> "$CALLS"
if [ "$1" = bench ]; then
  for arg in "$@"; do
    case "$arg" in --output=*) mkdir -p "${arg#--output=}" ;; esac
  done
fi
"""


def test_bench_pods_share_one_start_and_pod_zero_merges(tmp_path: Path) -> None:
    """Run the rendered pod script with sh, pod by pod, with a stand-in for crossfade."""
    results = tmp_path / "results"

    def change(data: dict[str, Any]) -> None:
        data["kubernetes"]["storage"]["results"]["mount_path"] = str(results)
        data["kubernetes"]["bench"]["pods"] = 3

    job = named(objects(spec_with(change)), "Job", "llama-3-8b-instruct-bench-vllm")
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "crossfade"
    fake.write_text(FAKE_CROSSFADE)
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    for index in (2, 1, 0):  # pod 0 last, so it finds every shard done and merges at once
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "CALLS": str(calls),
            "RUN_ID": "uid-1",
            "JOB_COMPLETION_INDEX": str(index),
        }
        done = subprocess.run(["sh", "-c", script], env=env, timeout=30, check=False)
        assert done.returncode == 0
    run = results / "llama-3-8b-instruct-bench-vllm" / "uid-1"
    lines = calls.read_text().splitlines()
    benches = [line for line in lines if line.split()[1] == "bench"]
    assert [line.split()[0] for line in benches] == ["2", "1", "0"]
    starts = {word for line in benches for word in line.split() if word.startswith("--start-at=")}
    assert starts == {f"--start-at={(run / 'start-at').read_text().strip()}"}
    assert all("--shard=auto/3" in line for line in benches)
    (merge,) = [line for line in lines if line.split()[1] == "merge"]
    assert merge.startswith("0 merge --allow-missing")
    assert merge.split()[3:6] == [str(run / f"shard-{i}") for i in range(3)]
    assert merge.endswith(f"-o {run / 'merged'}")


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
