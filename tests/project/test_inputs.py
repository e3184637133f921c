"""What a projection is asked, from the spec and the flags: the GPU's system, each backend's
parallelism, the quantization and KV cache with where each came from, the model's config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crossfade.project.hf_config import SHIPPED, SHIPPED_FOLDER, read_hf_config, shipped_for
from crossfade.project.inputs import MAX_LEVELS, Workload, plan_projection
from crossfade.project.model import ProjectionError
from crossfade.spec import Spec, load_spec
from crossfade.spec.models import Deployment
from tests.support.paths import ROOT

SPEC_70B = ROOT / "examples" / "llama-3-70b-fp8-tp4.yaml"
SPEC_8B = ROOT / "examples" / "llama-3-8b.yaml"
WORKLOAD = Workload(input_len=1024, output_len=256, concurrency=[32, 1, 8, 8])


def changed(path: Path, **update: Any) -> Spec:
    return load_spec(path).model_copy(update=update)


def plan(spec: Spec, **flags: Any) -> Any:
    config = read_hf_config(None, load_spec(SPEC_70B), "--model-config")
    return plan_projection(spec, "crossfade.yaml", config, WORKLOAD, **flags)


def test_the_70b_example_is_fp8_on_four_h100s_for_both_backends() -> None:
    projected = plan(load_spec(SPEC_70B))
    inputs = projected.inputs
    assert (inputs.gpu, inputs.system) == ("H100", "h100_sxm")
    assert (inputs.quantization, inputs.quantization_from) == (
        "fp8",
        "vllm.engine_args.quantization",
    )
    assert (inputs.kv_cache_dtype, inputs.kv_cache_dtype_from) == (
        "fp8",
        "vllm.engine_args.kv_cache_dtype",
    )
    assert projected.gemm_quant == "fp8"
    assert inputs.concurrency == [1, 8, 32]
    assert [(b.backend, b.tensor_parallel, b.pipeline_parallel, b.parallelism_from, b.batch_limit)
            for b in projected.backends] == [
        ("tensorrtllm", 4, 1, "tensorrtllm.llm_args", 128),
        ("vllm", 4, 1, "vllm.engine_args", 128),
    ]  # fmt: skip


def test_the_8b_example_is_bf16_on_one_h100() -> None:
    projected = plan(load_spec(SPEC_8B))
    assert (projected.inputs.quantization, projected.inputs.kv_cache_dtype) == ("none", "bfloat16")
    assert projected.inputs.quantization_from == "default (the spec states none)"
    assert projected.gemm_quant == "bfloat16"
    assert {(b.tensor_parallel, b.pipeline_parallel) for b in projected.backends} == {(1, 1)}


def test_flags_replace_what_the_spec_says() -> None:
    projected = plan(
        load_spec(SPEC_70B), gpu="H200", quantization="none", kv_cache_dtype="bfloat16"
    )
    inputs = projected.inputs
    assert (inputs.gpu, inputs.system) == ("H200", "h200_sxm")
    assert (inputs.quantization, inputs.quantization_from) == ("none", "--quantization")
    assert (inputs.kv_cache_dtype, inputs.kv_cache_dtype_from) == ("bfloat16", "--kv-cache-dtype")


def test_the_deployment_fact_comes_before_vllms_argument() -> None:
    inputs = plan(changed(SPEC_70B, deployment=Deployment(quantization="nvfp4"))).inputs
    assert (inputs.quantization, inputs.quantization_from) == ("nvfp4", "deployment.quantization")


def test_an_unknown_vllm_quantization_asks_for_the_flag() -> None:
    spec = load_spec(SPEC_70B)
    assert spec.vllm is not None
    vllm = spec.vllm.model_copy(
        update={"engine_args": {**spec.vllm.engine_args, "quantization": "bitsandbytes"}}
    )
    with pytest.raises(ProjectionError, match=r"'bitsandbytes': no projection equivalent.*"
                       r"give --quantization"):  # fmt: skip
        plan(spec.model_copy(update={"vllm": vllm}))


def test_a_backend_the_spec_does_not_serve_takes_the_others_parallelism() -> None:
    projected = plan(changed(SPEC_70B, vllm=None))
    vllm = projected.backends[1]
    assert (vllm.backend, vllm.tensor_parallel) == ("vllm", 4)
    assert vllm.parallelism_from == "tensorrtllm.llm_args (the spec gives none for vllm)"
    assert vllm.batch_limit is None  # a limit is only ever a backend's own


def test_a_spec_without_gpu_asks_for_the_flag() -> None:
    with pytest.raises(ProjectionError, match=r"crossfade.yaml names no gpu: give --gpu NAME"):
        plan(changed(SPEC_70B, gpu=None))
    assert plan(changed(SPEC_70B, gpu=None), gpu="L40S").inputs.system == "l40s"


def test_the_spec_gpu_is_named_in_its_error() -> None:
    with pytest.raises(ProjectionError, match=r"^crossfade.yaml: gpu: 'T4': no projection"):
        plan(changed(SPEC_70B, gpu="T4"))


@pytest.mark.parametrize(
    ("workload", "message"),
    [
        (Workload(0, 256, [1]), "--input-len 0: give a token count from 1"),
        (Workload(1024, 0, [1]), "--output-len 0: give a token count from 1"),
        (Workload(1024, 256, []), "--concurrency: give 1 to"),
        (Workload(1024, 256, list(range(1, MAX_LEVELS + 2))), "--concurrency: give 1 to"),
    ],
)
def test_a_workload_out_of_bounds_is_refused(workload: Workload, message: str) -> None:
    config = read_hf_config(None, load_spec(SPEC_70B), "--model-config")
    with pytest.raises(ProjectionError, match=message):
        plan_projection(load_spec(SPEC_70B), "crossfade.yaml", config, workload)


def test_the_example_specs_find_their_shipped_configs() -> None:
    assert shipped_for(load_spec(SPEC_8B)) == "llama-3-8b-instruct.json"
    assert shipped_for(load_spec(SPEC_70B)) == "llama-3-70b-instruct.json"
    assert sorted(p.name for p in SHIPPED_FOLDER.glob("*.json")) == sorted(SHIPPED.values())
    for name in SHIPPED.values():
        config = json.loads((SHIPPED_FOLDER / name).read_text(encoding="utf-8"))
        assert config["architectures"] == ["LlamaForCausalLM"]
        assert config["num_key_value_heads"] == 8


def test_a_shipped_config_is_recorded_as_shipped() -> None:
    source = read_hf_config(None, load_spec(SPEC_70B), "--model-config").source
    assert (source.path, source.shipped, source.architecture) == (
        "llama-3-70b-instruct.json",
        True,
        "LlamaForCausalLM",
    )
    assert len(source.sha256) == 64


def test_a_given_config_file_or_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"architectures": ["Qwen3ForCausalLM"]}')
    spec = load_spec(SPEC_8B)
    for given in (tmp_path, tmp_path / "config.json"):
        source = read_hf_config(given, spec, "--model-config").source
        assert (source.path, source.shipped, source.architecture) == (
            str(given),
            False,
            "Qwen3ForCausalLM",
        )


def test_a_model_without_a_shipped_config_asks_for_one() -> None:
    spec = load_spec(SPEC_8B)
    other = spec.model_copy(
        update={"model": spec.model.model_copy(update={"name": "qwen", "served_name": "Qwen/X"})}
    )
    with pytest.raises(ProjectionError, match=r"no config.json for model 'Qwen/X': give "
                       r"--model-config PATH"):  # fmt: skip
        read_hf_config(None, other, "--model-config")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", r"--model-config .*config.json:1: not valid JSON"),
        ('{"model_type": "llama"}', r"not a Hugging Face config.json: no 'architectures'"),
        ('{"architectures": []}', r"not a Hugging Face config.json"),
        ("[1]", r"not a Hugging Face config.json"),
    ],
)
def test_a_bad_config_is_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ProjectionError, match=message):
        read_hf_config(tmp_path / "config.json", load_spec(SPEC_8B), "--model-config")


def test_a_missing_or_huge_config_is_refused(tmp_path: Path) -> None:
    spec = load_spec(SPEC_8B)
    with pytest.raises(ProjectionError, match=r"--model-config .*: no such file"):
        read_hf_config(tmp_path / "nothing.json", spec, "--model-config")
    with pytest.raises(ProjectionError, match=r"--model-config .*: no such file"):
        read_hf_config(tmp_path, spec, "--model-config")  # a folder without config.json
    huge = tmp_path / "huge.json"
    huge.write_text(" " * 1_000_001)
    with pytest.raises(ProjectionError, match=r"larger than 1,000,000 bytes"):
        read_hf_config(huge, spec, "--model-config")
