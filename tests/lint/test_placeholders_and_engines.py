"""Template leftovers in every structural position, and engine checks run from a repository."""

from __future__ import annotations

from pathlib import Path

from crossfade.findings import Severity
from crossfade.lint.runner import lint_paths
from tests.support.engine_folders import make_engine
from tests.support.planting import plant

# A config in the style of the unfilled upstream template (our own text, same structure).
TEMPLATE = """\
name: "tensorrt_llm"
backend: "${triton_backend}"
max_batch_size: ${triton_max_batch_size}
model_transaction_policy {
  decoupled: ${decoupled_mode}
}
dynamic_batching {
  preferred_batch_size: [ ${triton_max_batch_size} ]
  max_queue_delay_microseconds: ${max_queue_delay_microseconds}
}
input [
  {
    name: "input_ids"
    data_type: TYPE_INT32
    dims: [ -1 ]
  }
]
output [
  {
    name: "generation_logits"
    data_type: ${logits_datatype}
    dims: [ -1, -1, -1 ]
  }
]
parameters: {
  key: "gpt_model_type"
  value: {
    string_value: "${batching_strategy}"
  }
}
parameters: {
  key: "kv_cache_free_gpu_mem_fraction"
  value: { string_value: "${kv_cache_free_gpu_mem_fraction}" }
}
"""


def test_every_leftover_placeholder_is_located(tmp_path: Path) -> None:
    model = tmp_path / "repo/tensorrt_llm"
    (model / "1").mkdir(parents=True)
    (model / "config.pbtxt").write_text(TEMPLATE, encoding="utf-8")
    found = {(f.code, f.line) for f in lint_paths([tmp_path / "repo"])}
    structural = {("leftover-var-structural", line) for line in (2, 3, 5, 8, 9, 21)}
    # gpt_model_type has no default (the load fails); the KV cache fraction has one.
    params = {("leftover-var-required", 28), ("leftover-var-param", 33)}
    # Placeholders are neutralised before protobuf parses, so no spurious parse error appears.
    removed = {("trtllm-engine-layout-removed", None)}  # once, for the engine repository
    assert found == structural | params | removed


def test_lint_checks_the_engine_a_repository_points_at(rendered: Path, tmp_path: Path) -> None:
    engine = make_engine(tmp_path, version="1.0.0", tp=2, ranks=["rank0.engine"])
    config = rendered / "tensorrtllm/tensorrt_llm/config.pbtxt"
    plant(config, '"/engines/llama-3-8b-instruct/bf16-tp1"', f'"{engine}"')
    findings = lint_paths([rendered], image="25.12-trtllm-python-py3", gpu="H100")
    codes = {
        (f.code, Path(f.file).parent if f.file.endswith(".json") else Path(f.file))
        for f in findings
    }
    assert ("engine-version-mismatch", engine) in codes
    assert ("engine-rank-count", engine) in codes


def test_lint_accepts_an_engine_folder_directly(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, version="1.1.0", stamp_gpu="L40S")
    codes = {f.code for f in lint_paths([engine], image="25.12-trtllm-python-py3", gpu="H100")}
    assert codes == {"engine-gpu-mismatch"}
    assert lint_paths([engine], image="25.12-trtllm-python-py3", gpu="L40S") == []


# Unfilled pre- and postprocessing, BLS and engine configs in the upstream templates' style.
PREPROCESSING = """\
name: "preprocessing"
backend: "python"
input [ { name: "QUERY" data_type: TYPE_STRING dims: [ 1 ] } ]
output [ { name: "INPUT_ID" data_type: TYPE_INT32 dims: [ -1 ] } ]
parameters { key: "tokenizer_dir" value: { string_value: "${tokenizer_dir}" } }
parameters { key: "add_special_tokens" value: { string_value: "${add_special_tokens}" } }
parameters { key: "gpt_model_path" value: { string_value: "${engine_dir}" } }
"""
POSTPROCESSING = """\
name: "postprocessing"
backend: "python"
input [ { name: "TOKENS_BATCH" data_type: TYPE_INT32 dims: [ -1, -1 ] } ]
parameters { key: "tokenizer_dir" value: { string_value: "${tokenizer_dir}" } }
parameters { key: "skip_special_tokens" value: { string_value: "${skip_special_tokens}" } }
"""
BLS = """\
name: "tensorrt_llm_bls"
backend: "python"
parameters { key: "tensorrt_llm_model_name" value: { string_value: "${tensorrt_llm_model_name}" } }
parameters { key: "accumulate_tokens" value: { string_value: "${accumulate_tokens}" } }
"""
ENGINE = """\
name: "tensorrt_llm"
backend: "tensorrtllm"
parameters { key: "gpt_model_path" value: { string_value: "${engine_dir}" } }
parameters { key: "gpt_model_type" value: { string_value: "inflight_fused_batching" } }
parameters { key: "decoding_mode" value: { string_value: "${decoding_mode}" } }
"""


def test_a_leftover_in_a_required_parameter_is_an_error(tmp_path: Path) -> None:
    repository = tmp_path / "repo"
    for name, text in (
        ("preprocessing", PREPROCESSING),
        ("postprocessing", POSTPROCESSING),
        ("tensorrt_llm_bls", BLS),
        ("tensorrt_llm", ENGINE),
    ):
        (repository / name / "1").mkdir(parents=True)
        (repository / name / "config.pbtxt").write_text(text, encoding="utf-8")
    found = {
        (Path(f.file).parent.name, f.line, f.code, f.severity) for f in lint_paths([repository])
    }
    error, warning = Severity.ERROR, Severity.WARNING
    # Before: all of these were warnings saying the backend's default applies; the required
    # ones have no default and the model cannot load.
    assert found == {
        ("preprocessing", 5, "leftover-var-required", error),
        ("preprocessing", 6, "leftover-var-param", warning),
        ("preprocessing", 7, "leftover-var-param", warning),  # the engine: multimodal only
        ("postprocessing", 4, "leftover-var-required", error),
        ("postprocessing", 5, "leftover-var-param", warning),
        ("tensorrt_llm_bls", 3, "leftover-var-param", warning),
        ("tensorrt_llm_bls", 4, "leftover-var-param", warning),
        ("tensorrt_llm", 3, "leftover-var-required", error),
        ("tensorrt_llm", 5, "leftover-var-param", warning),
        (tmp_path.name, None, "trtllm-engine-layout-removed", warning),  # once: the repository
    }
    engine = next(
        f for f in lint_paths([repository / "tensorrt_llm"]) if f.code == "leftover-var-required"
    )
    assert "Both encoder and decoder model paths are empty" in engine.message
    assert "tensorrtllm.engine_dir" in str(engine.hint)
