"""`crossfade init --from-repository`: a rendered legacy engine repository becomes a spec for the
LLM API model that loads, carries the repository's values over, and renders a repository that
lints clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossfade.cli import main
from crossfade.lint.runner import lint_paths
from crossfade.render.triton import render_triton
from crossfade.spec import load_spec, parse_spec
from crossfade.spec.tensorrtllm import TensorRTLLMApi
from tests.support.engine_folders import make_engine
from tests.support.planting import plant

LEGACY = """\
model: {{name: llama, tokenizer: /models/llama-3-8b-instruct}}
tensorrtllm:
  layout: engine
  image: 26.03-trtllm-python-py3
  engine_dir: {engine}
  decoupled: true
  batch_scheduler_policy: guaranteed_no_evict
  kv_cache_free_gpu_mem_fraction: 0.85
  max_tokens_in_paged_kv_cache: 40000
  enable_kv_cache_reuse: false
  gpu_device_ids: [2, 3]
  parameters: {{max_beam_width: "1"}}
"""


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A legacy repository rendered from an engine-layout spec, its engine (tp 2) beside it."""
    engine = make_engine(tmp_path, version="1.2.0", tp=2, max_batch_size=96, stamp_gpu="H100")
    stamp = json.loads((engine / "crossfade-build.json").read_text())
    stamp["image_tag"] = "nvcr.io/nvidia/tritonserver:26.03-trtllm-python-py3"
    (engine / "crossfade-build.json").write_text(json.dumps(stamp))
    out = tmp_path / "old"
    render_triton(parse_spec(LEGACY.format(engine=engine))).write(out)
    return out / "tensorrtllm"


def test_a_legacy_repository_becomes_an_llm_api_spec_that_lints_clean(
    legacy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = tmp_path / "crossfade.yaml"
    assert main(["init", str(spec_path), "--from-repository", str(legacy)]) == 0
    assert "check the lines marked CHECK" in capsys.readouterr().out
    trt = load_spec(spec_path).tensorrtllm
    assert isinstance(trt, TensorRTLLMApi)
    assert trt.image == "26.03-trtllm-python-py3"  # what the engine was built for (its stamp)
    assert trt.decoupled is True
    assert trt.gpu_device_ids == [[2, 3]]
    assert trt.llm_args == {
        "model": "/models/llama-3-8b-instruct",  # the tokenizer_dir, marked CHECK
        "tensor_parallel_size": 2,  # from the engine's config.json
        "pipeline_parallel_size": 1,
        "max_batch_size": 96,
        "max_num_tokens": 8192,
        "max_seq_len": 2048,
        "kv_cache_config": {
            "free_gpu_memory_fraction": 0.85,
            "max_tokens": 40000,
            "enable_block_reuse": False,
        },
        "scheduler_config": {"capacity_scheduler_policy": "GUARANTEED_NO_EVICT"},
    }
    text = spec_path.read_text()
    assert "# CHECK: the Hugging Face checkpoint to load" in text
    assert "#   max_beam_width: '1'" in text  # named as not carried over
    new = tmp_path / "new"
    assert main(["render", "triton", str(spec_path), "-o", str(new)]) == 0
    assert lint_paths([new]) == []


def test_the_removal_finding_hint_is_the_command_that_works(legacy: Path, tmp_path: Path) -> None:
    [finding] = [f for f in lint_paths([legacy]) if f.code == "trtllm-engine-layout-removed"]
    command = str(finding.hint).split(": ", 1)[1]
    assert command == (
        f"crossfade init crossfade.yaml --from-repository {legacy} && "
        "crossfade render triton crossfade.yaml -o NEW_REPO"
    )
    spec_path = tmp_path / "crossfade.yaml"
    assert main(["init", str(spec_path), "--from-repository", str(legacy)]) == 0
    assert main(["render", "triton", str(spec_path), "-o", str(tmp_path / "NEW_REPO")]) == 0


def test_without_its_engine_folder_the_defaults_are_marked_to_check(
    legacy: Path, tmp_path: Path
) -> None:
    config = legacy / "tensorrt_llm/config.pbtxt"
    text = config.read_text()
    engine = text.split('key: "gpt_model_path"', 1)[1].split('"')[1]
    plant(config, f'"{engine}"', '"/engines/elsewhere"')
    spec_path = tmp_path / "crossfade.yaml"
    assert main(["init", str(spec_path), "--from-repository", str(legacy.parent)]) == 0
    trt = load_spec(spec_path).tensorrtllm
    assert isinstance(trt, TensorRTLLMApi)
    assert "tensor_parallel_size" not in trt.llm_args
    assert trt.gpu_device_ids is None  # 2 GPUs, but tp x pp is unknown: not carried over
    assert trt.image == "26.07-trtllm-python-py3"  # the newest known
    written = spec_path.read_text()
    assert "the engine folder (/engines/elsewhere) is not here" in written
    assert "gpu_device_ids: '2,3'" in written


def test_a_folder_with_no_engine_model_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo/m"
    repo.mkdir(parents=True)
    (repo / "config.pbtxt").write_text('name: "m"\nbackend: "python"\n')
    assert main(["init", str(tmp_path / "s.yaml"), "--from-repository", str(tmp_path)]) == 2
    assert "no tensorrt_llm model of the engine layout" in capsys.readouterr().err
    assert not (tmp_path / "s.yaml").exists()
