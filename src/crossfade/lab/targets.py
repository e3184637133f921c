"""The lab's targets, named by the URLs `crossfade bench` accepts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from crossfade.lab.settings import LabSettings
from crossfade.render.triton_llmapi_emulator import EMULATED_LLMAPI
from crossfade.spec import Spec


@dataclass(frozen=True)
class ServedNames:
    """The names clients use: Triton's vLLM model, and the OpenAI model of native vLLM."""

    triton_vllm_model: str = "vllm_model"
    openai_model: str = "tiny-llama"


def served_names(spec: Spec) -> ServedNames:
    assert spec.vllm is not None
    args = spec.vllm.engine_args
    return ServedNames(
        triton_vllm_model=spec.vllm.triton_model_name,
        openai_model=str(args.get("served_model_name") or args["model"]),
    )


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    metrics_url: str
    backend: str  # what actually serves it
    emulated: bool  # True: numbers from it are never TensorRT-LLM's

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def lab_targets(settings: LabSettings, names: ServedNames) -> list[Target]:
    host = settings.host
    http, grpc = f"{host}:{settings.http_port}", f"{host}:{settings.grpc_port}"
    triton_metrics = f"http://{host}:{settings.metrics_port}/metrics"
    native = f"{host}:{settings.vllm_port}"
    native_metrics = f"http://{native}/metrics"
    emulated = "tensorrtllm-emulated"
    rows = [
        ("vllm-triton", f"triton-vllm://{http}/{names.triton_vllm_model}", "vllm"),
        ("vllm-triton-grpc", f"triton-grpc-vllm://{grpc}/{names.triton_vllm_model}", "vllm"),
        ("trtllm-emulated-ensemble", f"triton-trtllm://{http}/ensemble", emulated),
        ("trtllm-emulated-bls", f"triton-trtllm://{http}/tensorrt_llm_bls", emulated),
        ("trtllm-emulated-ensemble-grpc", f"triton-grpc-trtllm://{grpc}/ensemble", emulated),
        ("trtllm-emulated-llmapi", f"triton-llmapi://{http}/{EMULATED_LLMAPI}", emulated),
        ("trtllm-emulated-llmapi-grpc", f"triton-grpc-llmapi://{grpc}/{EMULATED_LLMAPI}", emulated),
    ]
    targets = [
        Target(name, url, triton_metrics, kind, kind == emulated) for name, url, kind in rows
    ]
    for name, scheme in (("vllm-native", "openai"), ("vllm-native-chat", "openai-chat")):
        url = f"{scheme}://{native}/v1?model={names.openai_model}"
        targets.append(Target(name, url, native_metrics, "vllm", False))
    return targets
