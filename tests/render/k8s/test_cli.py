"""`crossfade render k8s` and `crossfade render bench-job` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.cli import main
from tests.render.k8s.support import SPEC_8B, SPEC_70B, documents


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_render_writes_one_file_per_kind_and_jobs_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "k8s"
    assert main(["render", "k8s", str(SPEC_8B), "-o", str(out)]) == 0
    files = snapshot(out)
    # What was written, for the next render to remove what it no longer renders; kubectl
    # apply -f DIR reads .yaml, .yml and .json files only, so it skips this one.
    assert files.pop(".crossfade-render-k8s").startswith(b"{")
    top = {path for path in files if "/" not in path}
    assert top == {
        "configmap.yaml",
        "deployment.yaml",
        "service.yaml",
        "podmonitor.yaml",
        "virtualservice.yaml",
        "destinationrule.yaml",
    }
    for path, data in files.items():
        text = data.decode()
        assert text.startswith("# Rendered by `crossfade render k8s` from llama-3-8b.yaml")
        kinds = {doc["kind"] for doc in documents(text)}
        if "/" in path:
            assert path.startswith("jobs/")
            assert kinds == {"Job"}
        else:
            assert {kind.lower() for kind in kinds} == {path.removesuffix(".yaml")}
    assert len([p for p in files if p.startswith("jobs/")]) == 3
    assert "note:" in capsys.readouterr().err  # what a request may carry to land on either


def test_rerender_is_byte_identical_and_check_finds_edits(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        assert main(["render", "k8s", str(SPEC_70B), "-o", str(root)]) == 0
    assert snapshot(first) == snapshot(second)
    assert main(["render", "k8s", str(SPEC_70B), "-o", str(first), "--check"]) == 0
    deployment = first / "deployment.yaml"
    deployment.write_text(deployment.read_text().replace("replicas: 1", "replicas: 3"))
    assert main(["render", "k8s", str(SPEC_70B), "-o", str(first), "--check"]) == 1


def test_dash_prints_one_stream_of_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "k8s", str(SPEC_70B), "-o", str(tmp_path)]) == 0
    written = [
        doc for path in sorted(tmp_path.rglob("*.yaml")) for doc in documents(path.read_text())
    ]
    capsys.readouterr()
    assert main(["render", "k8s", str(SPEC_70B), "-o", "-"]) == 0
    streamed = documents(capsys.readouterr().out)
    key = lambda doc: (doc["kind"], doc["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, streamed)) == sorted(map(key, written))
    # Serving objects first, the Jobs last.
    kinds = [doc["kind"] for doc in streamed]
    jobs = kinds.count("Job")
    assert jobs == 3
    assert kinds[-jobs:] == ["Job"] * jobs


def test_gateway_channel_experimental_adds_retry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "k8s", str(SPEC_70B), "-o", "-"]) == 0
    assert "retry:" not in capsys.readouterr().out
    assert (
        main(["render", "k8s", str(SPEC_70B), "-o", "-", "--gateway-channel", "experimental"]) == 0
    )
    assert "retry:" in capsys.readouterr().out
    # The Istio example renders no HTTPRoute: the flag would do nothing, so it is refused.
    assert (
        main(["render", "k8s", str(SPEC_8B), "-o", "-", "--gateway-channel", "experimental"]) == 2
    )
    assert "gateway-api" in capsys.readouterr().err


def test_check_needs_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "k8s", str(SPEC_8B), "-o", "-", "--check"]) == 2
    assert "-o DIR" in capsys.readouterr().err


def test_spec_without_kubernetes_section_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SPEC_8B.read_text().split("\nkubernetes:")[0]
    spec = tmp_path / "plain.yaml"
    spec.write_text(text)
    assert main(["render", "k8s", str(spec), "-o", str(tmp_path / "out")]) == 2
    assert "no kubernetes section" in capsys.readouterr().err


def test_bench_job_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["render", "bench-job", str(SPEC_8B), "--backend", "tensorrtllm", "--pods", "2"]
    assert main([*argv, "--concurrency", "16", "--start-at", "1767225600"]) == 0
    (job,) = documents(capsys.readouterr().out)
    assert job["metadata"]["name"] == "llama-3-8b-instruct-bench-tensorrtllm"
    assert job["spec"]["completions"] == 2
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert "--concurrency=16" in script
    assert "start_at=1767225600" in script
    assert main([*argv, "--concurrency", "16", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "llama-3-8b-instruct-bench-tensorrtllm.yaml").is_file()
    assert main(["render", "bench-job", str(SPEC_8B)]) == 2
    assert "--backend" in capsys.readouterr().err
