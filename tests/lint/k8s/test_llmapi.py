"""Pods of TensorRT-LLM's LLM API model, judged from the ConfigMap that holds its repository:
the GPUs its model.yaml and config.pbtxt ask for, and how tritonserver is started."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from crossfade.render.k8s.manifests import render_k8s
from tests.render.k8s.support import SPEC_8B, SPEC_70B, layout_spec
from tests.support.k8s_lint import lint
from tests.support.planting import line_of, plant


def render_llmapi(
    out: Path, path: Path, change: Callable[[dict[str, Any]], object] = lambda data: None
) -> None:
    render_k8s(layout_spec("llmapi", change, path), "spec.yaml").write(out)
    assert lint(out) == []


def test_the_gpus_follow_the_model_yaml_in_the_config_map(tmp_path: Path) -> None:
    render_llmapi(tmp_path, SPEC_70B)  # tensor_parallel_size 4 on 4 GPUs
    plant(tmp_path / "configmap.yaml", "tensor_parallel_size: 4", "tensor_parallel_size: 2")
    (finding,) = lint(tmp_path)
    deployment = tmp_path / "deployment.yaml"
    assert (finding.code, finding.file) == ("k8s-gpu-count", str(deployment))
    assert finding.line == line_of(deployment, "nvidia.com/gpu: 4")
    assert finding.message == (
        "Deployment llama-3-70b-tensorrtllm: each pod gets 4 GPU(s) (nvidia.com/gpu), but the "
        "LLM API model 'tensorrt_llm' (ConfigMap llama-3-70b-tensorrtllm-models, "
        "tensorrt_llm/1/model.yaml) does not fit: tensor_parallel_size x "
        "pipeline_parallel_size = 2"
    )
    assert "tensorrtllm.llm_args" in str(finding.hint)


def test_instances_take_the_gpus_their_device_ids_name(tmp_path: Path) -> None:
    def two_on_gpu_0(data: dict[str, Any]) -> None:
        data["tensorrtllm"] |= {"instance_count": 2, "gpu_device_ids": [[0], [0]]}

    render_llmapi(tmp_path, SPEC_8B, two_on_gpu_0)  # one GPU, two instances: upstream's example
    deployment = tmp_path / "deployment.yaml"
    line = plant(deployment, "nvidia.com/gpu: 1", "nvidia.com/gpu: 2")
    (finding,) = lint(tmp_path)
    assert (finding.code, finding.line) == ("k8s-gpu-count", line)
    assert finding.message.endswith(
        "does not fit: gpu_device_ids [[0], [0]] names GPU(s) 0; a pod sees its GPUs as 0..1, "
        "and each should serve an instance"
    )


def test_a_server_that_skips_auto_complete_never_streams(tmp_path: Path) -> None:
    render_llmapi(tmp_path, SPEC_70B)
    deployment = tmp_path / "deployment.yaml"
    line = line_of(deployment, "- --metrics-port=8002") + 1
    plant(
        deployment,
        "- --metrics-port=8002\n",
        "- --metrics-port=8002\n        - --disable-auto-complete-config\n",
    )
    (finding,) = lint(tmp_path)
    assert (finding.code, finding.file, finding.line) == (
        "k8s-llmapi-auto-complete",
        str(deployment),
        line,
    )
    assert "Triton serves the model as not decoupled" in finding.message
    assert "remove --disable-auto-complete-config" in str(finding.hint)


def test_the_legacy_ensemble_may_skip_auto_complete(tmp_path: Path) -> None:
    # Its config.pbtxt files say everything themselves; upstream launched them that way.
    render_k8s(layout_spec("engine", path=SPEC_70B), "spec.yaml").write(tmp_path)
    plant(
        tmp_path / "deployment.yaml",
        "- --metrics-port=8002\n",
        "- --metrics-port=8002\n        - --disable-auto-complete-config\n",
    )
    assert lint(tmp_path) == []
