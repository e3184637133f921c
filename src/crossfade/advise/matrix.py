"""The rows of the seed article's decision matrix that today's TensorRT-LLM changed: what the
article says of TensorRT-LLM (engines), what holds with the PyTorch backend and the LLM API model,
and where that is published. Every advice output shows these rows, from this one table."""

from __future__ import annotations

from dataclasses import dataclass

from crossfade.advise import sources


@dataclass(frozen=True)
class MatrixRow:
    topic: str
    article: str  # what the seed article's matrix says of TensorRT-LLM
    today: str  # what holds for TensorRT-LLM's PyTorch backend (>= 1.0; the only one after 1.3)
    source: str  # where today's fact is published


ROWS: tuple[MatrixRow, ...] = (
    MatrixRow(
        "setup time",
        "hours: an engine is built before the first request",
        "no build step: the server starts once the checkpoint has loaded",
        sources.BACKEND_REMOVAL,
    ),
    MatrixRow(
        "model swap",
        "a new engine build for each model version",
        "point model: in model.yaml (llm_args.model in the spec) at the new checkpoint and restart",
        sources.MODEL_YAML,
    ),
    MatrixRow(
        "quantization",
        "INT8 or FP8 applied while the engine is built",
        "the checkpoint arrives quantized (ModelOpt FP8, NVFP4 and others) and loads as it is",
        sources.QUANTIZATION,
    ),
    MatrixRow(
        "tensor parallel",
        "fixed when the engine is built",
        "tensor_parallel_size in model.yaml, applied when the model loads",
        sources.MODEL_YAML,
    ),
    MatrixRow(
        "GPU portability",
        "one engine per GPU architecture",
        "no engine: the same checkpoint on every GPU the backend supports, within the hardware "
        "limits of its quantization (NVFP4 needs Blackwell, FP8 Ada or newer)",
        f"{sources.BACKEND_REMOVAL}; {sources.QUANTIZATION}",
    ),
    MatrixRow(
        "Hugging Face models",
        "convert the checkpoint, then compile an engine",
        "loaded as they are, with no conversion step",
        sources.BACKEND_REMOVAL,
    ),
)
