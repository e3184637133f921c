"""Rendering the legacy engine ensemble and the vLLM model: structure, Triton's own parser,
determinism, --check. Every example's layout, and the LLM API model's: test_layouts.py,
test_llmapi.py."""

from __future__ import annotations

import json
from pathlib import Path

from tritonclient.grpc import model_config_pb2

from crossfade.cli import main
from crossfade.render import tensors
from crossfade.render.pbtxt import parse
from crossfade.render.triton import render_triton
from crossfade.spec import Spec, load_spec
from tests.support.paths import ROOT

# The legacy engine layout: the five-model ensemble around an engine.
SPEC_8B = ROOT / "examples/llama-3-8b-engine-legacy.yaml"
TRTLLM_MODELS = {"preprocessing", "tensorrt_llm", "postprocessing", "ensemble", "tensorrt_llm_bls"}


def configs(spec: Spec) -> dict[str, model_config_pb2.ModelConfig]:
    """REPOSITORY/MODEL -> its config (the vLLM model may share a TensorRT-LLM model's name)."""
    tree = render_triton(spec)
    return {
        path.removesuffix("/config.pbtxt"): parse(text)
        for path, text in tree.files.items()
        if path.endswith("config.pbtxt")
    }


def vllm_folder(spec: Spec) -> str:
    assert spec.vllm is not None
    return f"vllm/{spec.vllm.triton_model_name}"


def test_the_legacy_example_renders_the_five_model_ensemble() -> None:
    spec = load_spec(SPEC_8B)
    tree = render_triton(spec)
    trt = {p.split("/")[1] for p in tree.files if p.startswith("tensorrtllm/")}
    assert trt == TRTLLM_MODELS
    assert f"{vllm_folder(spec)}/config.pbtxt" in tree.files
    assert f"{vllm_folder(spec)}/1/model.json" in tree.files
    assert {f"tensorrtllm/{m}/1" for m in TRTLLM_MODELS} <= tree.folders
    parsed = configs(spec)
    assert set(parsed) == {f"tensorrtllm/{m}" for m in TRTLLM_MODELS} | {vllm_folder(spec)}
    for path, config in parsed.items():
        assert config.name == path.split("/")[1]


def test_tensorrt_llm_structure_comes_from_the_spec() -> None:
    spec = load_spec(SPEC_8B)
    assert spec.tensorrtllm is not None
    config = configs(spec)["tensorrtllm/tensorrt_llm"]
    assert config.backend == "tensorrtllm"
    assert config.max_batch_size == spec.tensorrtllm.triton_max_batch_size
    assert config.model_transaction_policy.decoupled is True
    assert list(config.dynamic_batching.preferred_batch_size) == [64]
    params = {k: v.string_value for k, v in config.parameters.items()}
    assert params["gpt_model_path"] == spec.tensorrtllm.engine_dir
    assert params["gpt_model_type"] == "inflight_fused_batching"
    assert params["batch_scheduler_policy"] == "max_utilization"
    assert params["enable_kv_cache_reuse"] == "true"
    assert not any("${" in v for v in params.values())
    # Unset in the spec means left out on purpose: the backend default applies.
    assert "max_tokens_in_paged_kv_cache" not in params
    names = [t.name for t in config.input]
    assert {"input_ids", "input_lengths", "request_output_len"} <= set(names)
    assert "min_tokens" in names
    assert "min_length" not in names


def test_logits_datatype_marker_is_resolved() -> None:
    spec = load_spec(SPEC_8B)
    outputs = {t.name: t for t in configs(spec)["tensorrtllm/tensorrt_llm"].output}
    assert outputs["generation_logits"].data_type == model_config_pb2.TYPE_FP32
    texts = {p: t for p, t in render_triton(spec).files.items() if p.endswith("config.pbtxt")}
    assert all("${" not in text for text in texts.values())


def test_instance_counts_and_bls_parameters() -> None:
    spec = load_spec(SPEC_8B)
    parsed = configs(spec)
    assert parsed["tensorrtllm/preprocessing"].instance_group[0].count == 4
    assert parsed["tensorrtllm/tensorrt_llm_bls"].instance_group[0].count == 64
    bls = parsed["tensorrtllm/tensorrt_llm_bls"]
    bls_params = {k: v.string_value for k, v in bls.parameters.items()}
    assert bls_params == {"accumulate_tokens": "true", "tensorrt_llm_model_name": "tensorrt_llm"}
    pre = parsed["tensorrtllm/preprocessing"]
    pre_params = {k: v.string_value for k, v in pre.parameters.items()}
    assert pre_params["tokenizer_dir"] == spec.model.tokenizer


def test_ensemble_steps_follow_the_tensor_tables() -> None:
    ensemble = configs(load_spec(SPEC_8B))["tensorrtllm/ensemble"]
    assert ensemble.platform == "ensemble"
    steps = [(s.model_name, dict(s.input_map)) for s in ensemble.ensemble_scheduling.step]
    assert [name for name, _ in steps] == ["preprocessing", "tensorrt_llm", "postprocessing"]
    assert steps[1][1]["streaming"] == "stream"
    assert len(ensemble.input) == len(tensors.ENSEMBLE_INPUTS)


def test_vllm_config_loads_without_auto_complete() -> None:
    spec = load_spec(SPEC_8B)
    config = configs(spec)[vllm_folder(spec)]
    assert config.backend == "vllm"
    assert config.max_batch_size == 0
    assert config.model_transaction_policy.decoupled is True
    assert config.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_MODEL
    inputs = {t.name for t in config.input}
    assert {"text_input", "stream", "sampling_parameters", "exclude_input_in_output"} <= inputs
    outputs = {t.name: t for t in config.output}
    assert outputs["num_output_tokens"].data_type == model_config_pb2.TYPE_UINT32
    assert config.parameters["REPORT_CUSTOM_METRICS"].string_value == "true"
    model_json = json.loads(render_triton(spec).files[f"{vllm_folder(spec)}/1/model.json"])
    assert spec.vllm is not None
    assert model_json == spec.vllm.engine_args


def test_python_backend_can_be_chosen_for_tensorrt_llm() -> None:
    spec = load_spec(SPEC_8B)
    assert spec.tensorrtllm is not None
    python_spec = spec.model_copy(
        update={"tensorrtllm": spec.tensorrtllm.model_copy(update={"triton_backend": "python"})}
    )
    config = configs(python_spec)["tensorrtllm/tensorrt_llm"]
    assert config.backend == "python"
    assert "FORCE_CPU_ONLY_INPUT_TENSORS" not in config.parameters


def test_lora_adapters_write_multi_lora_json() -> None:
    spec = load_spec(SPEC_8B)
    assert spec.vllm is not None
    lora_spec = spec.model_copy(
        update={"vllm": spec.vllm.model_copy(update={"lora_adapters": {"sql": "/loras/sql"}})}
    )
    files = render_triton(lora_spec).files
    folder = vllm_folder(lora_spec)
    assert json.loads(files[f"{folder}/1/multi_lora.json"]) == {"sql": "/loras/sql"}
    assert json.loads(files[f"{folder}/1/model.json"])["enable_lora"] is True


def test_rendering_twice_is_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["render", "triton", str(SPEC_8B), "-o", str(first)]) == 0
    assert main(["render", "triton", str(SPEC_8B), "-o", str(second)]) == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(render_triton(load_spec(SPEC_8B)).files) == 10
    assert len(files) == 11  # and the record of what was rendered, byte-identical too
    assert Path(".crossfade-render-triton") in files
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes()


def test_check_reports_drift_and_exits_1(tmp_path: Path, capsys: object) -> None:
    out = tmp_path / "repo"
    assert main(["render", "triton", str(SPEC_8B), "-o", str(out)]) == 0
    assert main(["render", "triton", str(SPEC_8B), "-o", str(out), "--check"]) == 0
    config = out / "tensorrtllm/tensorrt_llm/config.pbtxt"
    config.write_text(config.read_text().replace("max_batch_size: 64", "max_batch_size: 8"))
    (out / "tensorrtllm/stale_model").mkdir()
    (out / "tensorrtllm/stale_model/config.pbtxt").write_text('name: "stale_model"\n')
    assert main(["render", "triton", str(SPEC_8B), "-o", str(out), "--check"]) == 1
    text = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "-max_batch_size: 8" in text
    assert "+max_batch_size: 64" in text
    assert "not rendered: tensorrtllm/stale_model/config.pbtxt" in text
