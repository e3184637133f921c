"""What `crossfade lint PATH` lints: a named file as itself, a folder searched; unreadable
configs reported while the rest of the repository is still checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossfade.cli import main
from crossfade.errors import UsageError
from crossfade.findings import Finding
from crossfade.lint.runner import lint_paths
from tests.support.engine_folders import make_engine
from tests.support.findings import engine_layout_removed
from tests.support.paths import ROOT
from tests.support.planting import plant


def codes_by_file(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.code, f.file) for f in findings}


def removed(repos: Path) -> tuple[str, str]:
    return engine_layout_removed(repos)[:2]


def test_a_binary_config_is_a_finding_and_the_other_models_are_still_linted(
    rendered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    post = rendered / "tensorrtllm/postprocessing/config.pbtxt"
    post.write_bytes(b"\xff\xfe\x00\x01 not text")
    engine = rendered / "tensorrtllm/tensorrt_llm/config.pbtxt"
    plant(engine, '"inflight_fused_batching"', '"inflight_batching_fused"')
    vllm = rendered / "vllm/ensemble/config.pbtxt"
    plant(vllm, "decoupled: true", "decoupled: false")
    # Before: UnicodeDecodeError, and every other finding was lost.
    found = codes_by_file(lint_paths([rendered]))
    assert found == {
        ("pbtxt-unreadable", str(post)),
        ("trtllm-invalid-gpt-model-type", str(engine)),
        ("vllm-not-decoupled", str(vllm)),
        removed(rendered),
    }  # the ensemble's step into postprocessing is not judged against an unreadable config
    assert main(["lint", str(rendered)]) == 1
    out = capsys.readouterr().out
    assert f"{post}: error pbtxt-unreadable: not UTF-8 text (byte 0xff at offset 0)" in out


def test_a_binary_model_json_is_a_finding(rendered: Path) -> None:
    model_json = rendered / "vllm/ensemble/1/model.json"
    model_json.write_bytes(b"\x89PNG\r\n")
    found = [f for f in lint_paths([rendered]) if f.file == str(model_json)]
    assert codes_by_file(lint_paths([rendered])) == {
        ("vllm-model-json-invalid", str(model_json)),
        removed(rendered),
    }
    assert "not UTF-8 text" in found[0].message


def test_a_model_json_nested_past_the_decoder_is_a_finding(rendered: Path) -> None:
    model_json = rendered / "vllm/ensemble/1/model.json"
    model_json.write_text("[" * 100_000)
    found = [f for f in lint_paths([rendered]) if f.file == str(model_json)]
    assert codes_by_file(lint_paths([rendered])) == {
        ("vllm-model-json-invalid", str(model_json)),
        removed(rendered),
    }
    assert "nested deeper than the JSON decoder goes" in found[0].message


def test_a_named_file_is_linted_alone_not_its_folder(rendered: Path, tmp_path: Path) -> None:
    engine = rendered / "tensorrtllm/tensorrt_llm/config.pbtxt"
    plant(engine, '"inflight_fused_batching"', '"inflight_batching_fused"')
    vllm = rendered / "vllm/ensemble"
    plant(vllm / "config.pbtxt", "decoupled: true", "decoupled: false")
    # Before: naming any file linted its whole folder (here the vLLM repository, and for
    # notes.txt below everything under `rendered`).
    assert codes_by_file(lint_paths([vllm / "config.pbtxt"])) == {
        ("vllm-not-decoupled", str(vllm / "config.pbtxt"))
    }
    # The legacy model brings its repository's one engine-layout warning.
    assert codes_by_file(lint_paths([engine])) == {
        ("trtllm-invalid-gpt-model-type", str(engine)),
        removed(rendered),
    }
    assert lint_paths([rendered / "tensorrtllm/ensemble/config.pbtxt"]) == []
    # A model folder is that model; its model.json is linted with the model it belongs to.
    assert lint_paths([rendered / "tensorrtllm/ensemble"]) == []
    assert codes_by_file(lint_paths([vllm / "1/model.json"])) == {
        ("vllm-not-decoupled", str(vllm / "config.pbtxt"))
    }
    notes = rendered / "notes.txt"
    notes.write_text("hello\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"notes.txt: not a file lint knows; name a model "):
        lint_paths([notes])


def test_a_model_json_without_its_config_is_checked_for_its_engine_args(tmp_path: Path) -> None:
    model_json = tmp_path / "model.json"
    model_json.write_text(json.dumps({"model": "/m", "gpu_memory_utilisation": 0.5}))
    assert codes_by_file(lint_paths([model_json])) == {("vllm-unknown-engine-arg", str(model_json))}


def test_an_engine_config_json_is_its_engine(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, version="1.1.0", stamp_gpu="L40S")
    findings = lint_paths([engine / "config.json"], image="25.12-trtllm-python-py3", gpu="H100")
    assert {f.code for f in findings} == {"engine-gpu-mismatch"}
    other = tmp_path / "settings" / "config.json"
    other.parent.mkdir()
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError, match="not a file lint knows"):
        lint_paths([other])


def test_a_spec_is_not_taken_for_its_folder(capsys: pytest.CaptureFixture[str]) -> None:
    spec = ROOT / "examples/llama-3-8b.yaml"
    assert main(["lint", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}: not a file lint knows" in err
    assert "It looks like a crossfade spec: render it" in err
