"""What the projection's databases do not cover, told in crossfade's words with what they do
cover (the worker's refusal, built here as it sends it)."""

from __future__ import annotations

from crossfade.project.contract import WorkerRefusal
from crossfade.project.hf_config import read_hf_config
from crossfade.project.inputs import Workload, plan_projection
from crossfade.project.projection import refusal_message
from crossfade.spec import load_spec
from tests.conftest import ROOT

SPEC = load_spec(ROOT / "examples" / "llama-3-70b-fp8-tp4.yaml")
PLAN = plan_projection(
    SPEC,
    "crossfade.yaml",
    read_hf_config(None, SPEC, "--model-config"),
    Workload(1024, 256, [1]),
    gpu="A30",
)


def test_a_system_without_a_database_lists_those_with_one() -> None:
    refusal = WorkerRefusal(what="system", asked="a30", supported=["h100_sxm", "l40s", "x_new"])
    assert refusal_message(refusal, PLAN) == (
        "GPU 'A30' is system a30, for which the projection has no database of TensorRT-LLM and "
        "vLLM; it has: H100 (h100_sxm), L40S (l40s), x_new (x_new); give --gpu NAME"
    )


def test_a_model_the_library_does_not_model_lists_those_it_does() -> None:
    refusal = WorkerRefusal(
        what="model", asked="GPT2LMHeadModel", supported=["LlamaForCausalLM", "Qwen3ForCausalLM"]
    )
    assert refusal_message(refusal, PLAN) == (
        "model config llama-3-70b-instruct.json: architecture GPT2LMHeadModel is not one the "
        "projection models; it models: LlamaForCausalLM, Qwen3ForCausalLM"
    )


def test_a_quantization_without_kernels_lists_the_measured_ones_in_both_words() -> None:
    refusal = WorkerRefusal(
        what="quantization",
        asked="fp8",
        supported=["bfloat16", "fp8_block"],
        backend="trtllm",
    )
    assert refusal_message(refusal, PLAN) == (
        "quantization 'fp8' (from vllm.engine_args.quantization; the library's GEMM mode fp8) "
        "has no measured kernels for TensorRT-LLM on a30; measured there: none (the library's "
        "bfloat16, fp8_block); give --quantization"
    )
