"""An example spec's data in either TensorRT-LLM layout, whichever layout the file is written in.

The examples move from the legacy engine layout to the LLM API model; tests that must cover both
layouts derive the other one here instead of depending on which one a file has today.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

Layout = Literal["llmapi", "engine"]
# The examples as they were in the legacy engine layout (see the comment atop each file).
ENGINE_SPECS = Path(__file__).resolve().parent / "engine_specs"
ENGINES = {"claim": "llm-engines", "mount_path": "/engines"}


def layout_of(data: dict[str, Any]) -> Layout | None:
    trt = data.get("tensorrtllm")
    if trt is None:
        return None
    if trt.get("layout") in ("llmapi", "engine"):
        layout: Layout = trt["layout"]
        return layout
    return "engine" if "engine_dir" in trt and "llm_args" not in trt else "llmapi"


def as_layout(data: dict[str, Any], layout: Layout) -> dict[str, Any]:
    """`data` (edited in place) with its tensorrtllm section in `layout`."""
    if layout_of(data) in (None, layout):
        return data
    if layout == "llmapi":
        _to_llmapi(data)
    else:
        _to_engine(data)
    return data


def _gpus(data: dict[str, Any]) -> int:
    pods = (data.get("kubernetes") or {}).get("tensorrtllm") or {}
    gpus: int = pods.get("gpus", 1)
    return gpus


def _to_llmapi(data: dict[str, Any]) -> None:
    trt = data["tensorrtllm"]
    vllm_model = ((data.get("vllm") or {}).get("engine_args") or {}).get("model")
    llm_args: dict[str, Any] = {"model": vllm_model or data["model"]["tokenizer"]}
    if _gpus(data) > 1:
        llm_args["tensor_parallel_size"] = _gpus(data)
    data["tensorrtllm"] = {
        "layout": "llmapi",
        "image": trt["image"],
        "llm_args": llm_args,
        "decoupled": trt.get("decoupled", True),
    }
    k8s = data.get("kubernetes")
    if k8s is None:
        return
    k8s.pop("engine_build", None)
    k8s["storage"].pop("engines", None)  # the LLM API layout needs none
    if k8s.get("traffic") is not None:
        # No request works on both the LLM API model and vLLM: all traffic on one side.
        k8s["traffic"] |= {"weights": {"tensorrtllm": 100, "vllm": 0}, "failover": False}


def _to_engine(data: dict[str, Any]) -> None:
    trt = data["tensorrtllm"]
    data["tensorrtllm"] = {
        "layout": "engine",
        "image": trt["image"],
        "engine_dir": f"{ENGINES['mount_path']}/{data['model']['name']}",
        "decoupled": trt.get("decoupled", True),
    }
    k8s = data.get("kubernetes")
    if k8s is None:
        return
    k8s["storage"].setdefault("engines", dict(ENGINES))
    vllm = data.get("vllm")
    if vllm is not None and k8s.get("traffic") is not None:
        # The legacy split works when vLLM serves the ensemble's name.
        vllm["triton_model_name"] = "ensemble"
