"""Where the advice's facts are published: repository@commit and path as read, a release, a pull
request, or a page. Each rationale and each matrix row names its sources from here, so one
citation is written once."""

from __future__ import annotations

ARTICLE = "the seed article (its decision matrix and flowchart, early 2026)"

# NVIDIA/TensorRT-LLM
RELEASE_NOTES = "NVIDIA/TensorRT-LLM@001eaecea63d docs/source/release-notes.md (1.0)"
LAST_ENGINE_RELEASE = "github.com/NVIDIA/TensorRT-LLM/releases/tag/v1.3.0rc20"
CPP_BACKEND_REMOVED = "NVIDIA/TensorRT-LLM pull request #15907 (Jul 2026)"
BACKEND_REMOVAL = "NVIDIA/TensorRT-LLM@335107a7646f docs/source/legacy/tensorrt-backend-removal.md"
MODEL_YAML = (
    "NVIDIA/TensorRT-LLM@0ebb1536ac12 triton_backend/all_models/llmapi/tensorrt_llm/1/model.yaml"
)
QUANTIZATION = "NVIDIA/TensorRT-LLM@09d4c79ba941 docs/source/features/quantization.md"
TRTLLM_QUANT_CONFIG = (
    "NVIDIA/TensorRT-LLM@008e0af8980f tensorrt_llm/_torch/model_config.py (load_hf_quant_config)"
)
TRTLLM_MODELS = "NVIDIA/TensorRT-LLM@00b6d5a25c30 docs/source/models/supported-models.md"

# vllm-project/vllm
VLLM_MODELS = "vllm-project/vllm@0046f770d322 docs/models/supported_models.md"
VLLM_QUANT_HARDWARE = (
    "vllm-project/vllm@01129ffb187a docs/features/quantization/supported_hardware.md"
)
VLLM_MODELOPT = "vllm-project/vllm@0024350b5da3 docs/features/quantization/modelopt.md"

# Published comparisons
RUNINFRA = "runinfra.ai/news/vllm-vs-sglang-vs-tensorrt-llm-benchmark (Jun 2026)"
SPHERON = "spheron.network/blog/vllm-vs-tensorrt-llm-vs-sglang-benchmarks (Mar 2026)"
