"""The packaged lab spec, and the checks on a lab spec of the user's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.errors import UsageError
from crossfade.lab.control import lab_spec, render_lab
from crossfade.lab.vllm_server import engine_flags
from crossfade.render.triton import render_triton

PACKAGED = Path(__file__).resolve().parents[2] / "src/crossfade/lab/crossfade.lab.yaml"


def test_packaged_lab_spec_renders_python_models_and_the_emulator(tmp_path: Path) -> None:
    spec = lab_spec(tmp_path)
    assert spec.tensorrtllm is not None
    assert spec.tensorrtllm.emulator is not None
    assert spec.model.tokenizer == str(tmp_path)
    files = render_triton(spec).files
    for model in ("preprocessing", "postprocessing", "tensorrt_llm_bls", "tensorrt_llm_emulator"):
        assert f"tensorrtllm/{model}/1/model.py" in files
    assert "vllm/vllm_model/1/model.py" in files
    assert "tensorrtllm/tensorrt_llm/config.pbtxt" not in files  # never named as the real engine
    ensemble = files["tensorrtllm/ensemble/config.pbtxt"]
    assert 'model_name: "tensorrt_llm_emulator"' in ensemble
    assert 'key: "crossfade_emulated"' in ensemble


def test_the_lab_adds_the_emulated_llmapi_model_in_a_repository_of_its_own(tmp_path: Path) -> None:
    files = render_lab(lab_spec(tmp_path)).files
    llmapi = sorted(f for f in files if f.startswith("tensorrtllm-llmapi/"))
    assert llmapi == [
        "tensorrtllm-llmapi/tensorrt_llm_llmapi/1/emulated_batching.py",
        "tensorrtllm-llmapi/tensorrt_llm_llmapi/1/model.py",
        "tensorrtllm-llmapi/tensorrt_llm_llmapi/config.pbtxt",
    ]
    config = files["tensorrtllm-llmapi/tensorrt_llm_llmapi/config.pbtxt"]
    assert f'string_value: "{tmp_path}"' in config  # the tiny model's tokenizer
    assert not [f for f in files if "/tensorrt_llm/" in f]  # no emulator named as the real one


def test_a_lab_spec_must_use_the_python_backend_and_the_emulator(tmp_path: Path) -> None:
    own = tmp_path / "mine.yaml"
    own.write_text(
        PACKAGED.read_text().replace("  triton_backend: python\n  engine_args", "  engine_args")
    )
    with pytest.raises(UsageError, match="python backend"):
        lab_spec(tmp_path, own)


def test_native_server_gets_the_same_engine_arguments() -> None:
    flags = engine_flags(
        {"model": "/m", "enforce_eager": True, "enable_prefix_caching": False, "max_num_seqs": 8}
    )
    assert flags == [
        "--model",
        "/m",
        "--enforce-eager",
        "--no-enable-prefix-caching",
        "--max-num-seqs",
        "8",
    ]
