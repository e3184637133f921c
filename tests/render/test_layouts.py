"""Every example renders the TensorRT-LLM layout it sets, through the CLI as a user runs it:
each config.pbtxt parses with Triton's ModelConfig, model.yaml holds only LLM() arguments and
triton_config, a second render is byte-identical, and --check works on an LLM API repository.
A spec written before layouts renders the legacy layout and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crossfade.cli import main
from crossfade.render.pbtxt import parse
from crossfade.render.triton_llmapi import MODEL_CODE, MODEL_FILES_NOTE
from crossfade.spec import load_spec
from crossfade.spec.llmapi_args import LLM_ARGS, TRITON_CONFIG
from crossfade.spec.tensorrtllm import TensorRTLLMApi, TensorRTLLMEngine
from tests.support.paths import EXAMPLES, ROOT

ENSEMBLE = {"preprocessing", "tensorrt_llm", "postprocessing", "ensemble", "tensorrt_llm_bls"}
SPEC_8B = ROOT / "examples/llama-3-8b.yaml"
LEGACY_8B = ROOT / "examples/llama-3-8b-engine-legacy.yaml"
TRITON_CONFIG_KEYS = {"max_batch_size", "decoupled", "cancellation_check_period_ms"}
NOTE = (
    "crossfade render triton: note: tensorrtllm: engine_dir given and no layout: rendering the "
    "legacy engine layout (TensorRT-LLM removed the engine backend after 1.3.0rc20); set layout: "
    "engine to say so, or move to the LLM API model (docs/tensorrt-llm.md)"
)


def render(spec: Path, out: Path, *more: str) -> int:
    return main(["render", "triton", str(spec), "-o", str(out), *more])


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_renders_the_layout_it_sets(path: Path, tmp_path: Path) -> None:
    trt = load_spec(path).tensorrtllm
    out = tmp_path / "repos"
    assert render(path, out) == 0
    models = {p.name for p in (out / "tensorrtllm").iterdir()}
    if isinstance(trt, TensorRTLLMApi):
        assert models == {trt.triton_model_name}
        assert files_under(out / "tensorrtllm" / trt.triton_model_name) == sorted(
            ["config.pbtxt", "1/model.yaml", MODEL_FILES_NOTE]
        )
    else:
        assert isinstance(trt, TensorRTLLMEngine)
        assert not trt.layout_inferred  # every example says which layout it is
        assert models == ENSEMBLE


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_config_parses_and_every_model_yaml_holds_only_known_keys(
    path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "repos"
    assert render(path, out) == 0
    configs = sorted(out.rglob("config.pbtxt"))
    assert len(configs) >= 2
    for config_path in configs:
        assert parse(config_path.read_text(encoding="utf-8")).name == config_path.parent.name
    model_yamls = sorted(out.rglob("model.yaml"))
    llmapi = isinstance(load_spec(path).tensorrtllm, TensorRTLLMApi)
    assert len(model_yamls) == (1 if llmapi else 0)
    for model_yaml in model_yamls:
        data = yaml.safe_load(model_yaml.read_text(encoding="utf-8"))
        triton_config = data.pop(TRITON_CONFIG)
        assert set(triton_config) <= TRITON_CONFIG_KEYS
        assert triton_config["max_batch_size"] == 0
        assert triton_config["decoupled"] is True  # every example streams
        assert "model" in data
        assert set(data) <= LLM_ARGS, set(data) - LLM_ARGS


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_rendering_every_example_twice_is_byte_identical(path: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert render(path, first) == 0
    assert render(path, second) == 0
    files = files_under(first)
    assert files == files_under(second)
    assert ".crossfade-render-triton" in files  # the record too
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes()
    assert render(path, first, "--check") == 0


def test_check_on_an_llmapi_repository_with_its_model_code_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "repos"
    assert render(SPEC_8B, out) == 0
    # What MODEL_FILES.md asks for: upstream's model.py and helpers.py copied into 1/.
    version = out / "tensorrtllm/tensorrt_llm/1"
    for code in MODEL_CODE:
        (version / code).write_text("# from the serving container\n", encoding="utf-8")
    capsys.readouterr()
    assert render(SPEC_8B, out, "--check") == 0
    assert "up to date" in capsys.readouterr().out
    model_yaml = version / "model.yaml"
    model_yaml.write_text(
        model_yaml.read_text(encoding="utf-8").replace("max_batch_size: 64", "max_batch_size: 8")
    )
    (version / "notes.txt").write_text("mine\n", encoding="utf-8")
    assert render(SPEC_8B, out, "--check") == 1
    text = capsys.readouterr().out
    assert "-max_batch_size: 8" in text
    assert "+max_batch_size: 64" in text
    assert "not rendered: tensorrtllm/tensorrt_llm/1/notes.txt" in text
    assert "model.py" not in text
    assert "helpers.py" not in text
    # A render leaves the model's code where it is.
    assert render(SPEC_8B, out) == 0
    assert all((version / code).is_file() for code in MODEL_CODE)


def test_a_spec_written_before_layouts_renders_the_legacy_layout_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = LEGACY_8B.read_text(encoding="utf-8")
    explicit = "  layout: engine                    # the legacy engine ensemble\n"
    assert explicit in text
    before_layouts = tmp_path / "old.yaml"
    before_layouts.write_text(text.replace(explicit, ""), encoding="utf-8")
    trt = load_spec(before_layouts).tensorrtllm
    assert isinstance(trt, TensorRTLLMEngine)
    assert trt.layout_inferred
    capsys.readouterr()
    assert render(before_layouts, tmp_path / "old") == 0
    assert NOTE in capsys.readouterr().err
    # The same repository as the spec that says layout: engine, which gets no note.
    assert render(LEGACY_8B, tmp_path / "explicit") == 0
    assert "note:" not in capsys.readouterr().err
    assert files_under(tmp_path / "old") == files_under(tmp_path / "explicit")
    for relative in files_under(tmp_path / "old"):
        old, new = tmp_path / "old" / relative, tmp_path / "explicit" / relative
        assert old.read_bytes() == new.read_bytes()
    assert {p.name for p in (tmp_path / "old/tensorrtllm").iterdir()} == ENSEMBLE


def test_an_llmapi_spec_gets_no_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert render(SPEC_8B, tmp_path / "repos") == 0
    assert capsys.readouterr().err == ""
