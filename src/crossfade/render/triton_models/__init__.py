"""Python-backend model files that crossfade renders into repositories as ``<model>/1/model.py``.

They run inside Triton's python-backend stub, not in crossfade: each imports only what the
serving container has (numpy, triton_python_backend_utils, transformers, vLLM), never crossfade.
"""

from __future__ import annotations

from importlib import resources

PREPROCESSING = "preprocessing"
POSTPROCESSING = "postprocessing"
BLS = "tensorrt_llm_bls"
ENGINE_EMULATOR = "tensorrt_llm_emulator"
LLMAPI_EMULATOR = "tensorrt_llm_llmapi_emulator"
VLLM_PYTHON = "vllm_python"
# The batching core both emulators import: rendered beside each one's model.py.
EMULATED_BATCHING = "emulated_batching"


def model_source(name: str) -> str:
    """The text of the model file `name` (one of the constants above)."""
    return resources.files(__package__).joinpath(f"{name}.py").read_text(encoding="utf-8")


def emulator_files(name: str) -> dict[str, str]:
    """An emulated model's files under its folder: its model.py and the core it imports."""
    return {
        "1/model.py": model_source(name),
        f"1/{EMULATED_BATCHING}.py": model_source(EMULATED_BATCHING),
    }
