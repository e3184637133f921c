"""crossfade: choose, run and switch between Triton's TensorRT-LLM and vLLM backends."""

__version__ = "0.1.0"

__all__ = ["__version__"]
