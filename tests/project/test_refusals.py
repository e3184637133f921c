"""What the projection's databases do not cover, told in crossfade's words with what they do
cover (the worker's refusal, built here as it sends it); and what it does not model, said on
the point (a concurrency above the spec's batch limit)."""

from __future__ import annotations

from crossfade.project.contract import WorkerRefusal
from crossfade.project.hf_config import read_hf_config
from crossfade.project.inputs import Workload, plan_projection
from crossfade.project.projection import refusal_message, with_batch_caveat
from crossfade.spec import load_spec
from tests.project.projections import point
from tests.support.paths import ROOT

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


def test_a_concurrency_above_the_specs_batch_limit_says_it_would_queue() -> None:
    trt = PLAN.backends[0]
    assert trt.batch_limit == 128
    assert with_batch_caveat(point(128, 100.0), trt).warning is None
    over = with_batch_caveat(point(256, 100.0), trt)
    assert over.warning == (
        "the spec caps TensorRT-LLM at 128 requests at once: a server would queue the rest; "
        "projected as if all 256 ran"
    )
    warned = point(256, 100.0).model_copy(update={"warning": "KV cache too small"})
    assert str(with_batch_caveat(warned, trt).warning).startswith("KV cache too small; the spec")
