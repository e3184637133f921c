"""Pods serving TensorRT-LLM's LLM API model, read from the ConfigMap that holds its repository.

- GPUs: the model takes tensor x pipeline parallel GPUs per instance, from its `1/model.yaml`;
  several instances take the GPUs config.pbtxt's `gpu_device_ids` names (the spec's rule,
  `spec.kubernetes_checks.llmapi_gpu_problem`). Too few and the model's workers cannot all
  start; too many sit idle.
- `--disable-auto-complete-config`: upstream's launch script passes it, but then the model's
  auto_complete_config never runs, and model.yaml's triton_config (decoupled) is not applied:
  streaming requests fail on a model Triton serves as not decoupled.
"""

from __future__ import annotations

from typing import Any

import yaml

from crossfade.findings import Finding, Severity
from crossfade.lint.k8s.gpu import BATCH_KINDS, GPU_RESOURCE, gpu_count, gpu_count_finding
from crossfade.lint.k8s.objects import Cluster, PodTemplate
from crossfade.lint.k8s.served import MODEL_YAML, ServedModel, repository_files, served_models
from crossfade.lint.textproto import unquote
from crossfade.spec.kubernetes_checks import llmapi_gpu_problem

NO_AUTO_COMPLETE = "--disable-auto-complete-config"


def check_llmapi_pods(cluster: Cluster) -> list[Finding]:
    findings: list[Finding] = []
    for pod in cluster.pods():
        if pod.manifest.kind in BATCH_KINDS:
            continue
        models = served_models(cluster, pod) or {}
        llmapi = [model for model in models.values() if model.dialect == "llmapi"]
        if llmapi:
            findings += _auto_complete(pod)
        for model in llmapi:
            findings += _gpus(cluster, pod, model)
    return findings


def _gpus(cluster: Cluster, pod: PodTemplate, model: ServedModel) -> list[Finding]:
    model_yaml = repository_files(cluster, pod).get(f"{model.name}/{MODEL_YAML}")
    args = _yaml_mapping(model_yaml.text) if model_yaml is not None else None
    if model_yaml is None or args is None or model.config is None:
        return []  # the repository lint judges a model.yaml that does not parse
    parallel = _positive(args.get("tensor_parallel_size")) * _positive(
        args.get("pipeline_parallel_size")
    )
    instances = sum(
        int(given) if (given := group.scalar("count")) and given.isdigit() else 1
        for group in model.config.all("instance_group")
    )
    count, at = gpu_count(pod)
    problem = llmapi_gpu_problem(count, parallel, max(instances, 1), _device_ids(model))
    if problem is None:
        return []
    where = f"ConfigMap {model_yaml.config_map.name}, {model.name}/{MODEL_YAML}"
    says = f"the LLM API model '{model.name}' ({where}) does not fit: {problem}"
    hint = (
        f"give each pod the GPUs the model uses (resources.limits {GPU_RESOURCE}), or change "
        "its parallelism (with crossfade: tensorrtllm.llm_args, then render again)"
    )
    return [gpu_count_finding(pod, count, at, says, hint)]


def _auto_complete(pod: PodTemplate) -> list[Finding]:
    for container in pod.containers():
        for key in ("command", "args"):
            words = container.data.get(key)
            for index, word in enumerate(words if isinstance(words, list) else []):
                if str(word).split("=", 1)[0] != NO_AUTO_COMPLETE:
                    continue
                return [
                    Finding(
                        Severity.ERROR,
                        "k8s-llmapi-auto-complete",
                        pod.manifest.file,
                        pod.manifest.line((*container.path, key, index)),
                        f"{pod.manifest.title}: tritonserver runs with {NO_AUTO_COMPLETE}, so "
                        "the LLM API model's auto_complete_config never applies model.yaml's "
                        "triton_config: Triton serves the model as not decoupled, and "
                        "streaming requests fail, whatever model.yaml says",
                        f"remove {NO_AUTO_COMPLETE} (upstream's launch_triton_server.py adds "
                        "it; crossfade render k8s does not)",
                    )
                ]
    return []


def _yaml_mapping(text: str) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _positive(value: object) -> int:
    """A parallel size as model.yaml gives it; absent (or not a count) is upstream's 1."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 1


def _device_ids(model: ServedModel) -> list[list[int]] | None:
    """config.pbtxt's gpu_device_ids ("0,1;2,3"), or None when absent or not numbers."""
    assert model.config is not None
    for node in model.config.all("parameters"):
        if unquote(node.scalar("key") or "") != "gpu_device_ids":
            continue
        value = node.first("value")
        text = unquote(value.scalar("string_value") or "") if value is not None else ""
        groups = [[part.strip() for part in group.split(",")] for group in text.split(";")]
        if not all(part.isdigit() for group in groups for part in group):
            return None
        return [[int(part) for part in group] for group in groups]
    return None
