"""What a Triton pod serves, as far as the linted manifests say.

Its models are Triton's `--load-model` arguments, else the model folders of the ConfigMap it
mounts with items (`NAME/config.pbtxt`, as `crossfade render k8s` ships a repository). When
that ConfigMap is among the manifests, each model's files are read as well: which request a
model takes (its `Dialect`), and TensorRT-LLM's LLM API model's `1/model.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crossfade.lint.k8s.load import Manifest
from crossfade.lint.k8s.objects import Cluster, PodTemplate, same_namespace
from crossfade.lint.textproto import Field, read_located, unquote

# How a model is asked, by the inputs it reads:
# - text: the legacy ensemble and BLS (text_input, max_tokens as an input of its own)
# - vllm: Triton's vLLM backend (text_input, stream; any other field is a sampling parameter)
# - llmapi: TensorRT-LLM's LLM API model (text_input, streaming, sampling_param_*)
# - tokens: the legacy engine model itself (input_ids)
Dialect = Literal["text", "vllm", "llmapi", "tokens"]
DESCRIBED: dict[Dialect, str] = {
    "text": "the ensemble's text request (text_input, max_tokens)",
    "vllm": "vLLM's request (text_input, stream, sampling parameters)",
    "llmapi": "the LLM API model's request (text_input, streaming, sampling_param_*)",
    "tokens": "token ids (input_ids: the engine model itself)",
}
# One request works on both: text_input with max_tokens as a field of its own, which the
# ensemble reads as an input and vLLM as a sampling parameter. vLLM refuses the LLM API model's
# sampling_param_* fields, and the LLM API model ignores max_tokens and stream.
_SHARED = {frozenset({"text", "vllm"})}
MODEL_YAML = "1/model.yaml"


@dataclass(frozen=True)
class RepositoryFile:
    """A file of a repository a pod mounts, and the ConfigMap key that holds it."""

    text: str
    config_map: Manifest
    key: str


@dataclass(frozen=True)
class ServedModel:
    name: str
    dialect: Dialect | None  # None: the manifests do not say
    config: Field | None  # its config.pbtxt, when the ConfigMap is linted too


def fits(first: Dialect | None, second: Dialect | None) -> bool:
    """Whether one request works on two models of these dialects (unknown fits anything)."""
    if first is None or second is None or first == second:
        return True
    return frozenset({first, second}) in _SHARED


def served_models(cluster: Cluster, pod: PodTemplate) -> dict[str, ServedModel] | None:
    """The models the pod's Triton serves by name, or None when the manifests do not say."""
    files = repository_files(cluster, pod)
    loaded = _loaded_models(pod)
    names = loaded or _config_map_models(pod)
    if not names:
        return None
    return {name: _model(name, files) for name in sorted(names)}


def repository_files(cluster: Cluster, pod: PodTemplate) -> dict[str, RepositoryFile]:
    """Files of the ConfigMaps the pod mounts with items, by item path, for those ConfigMaps
    among the manifests."""
    found: dict[str, RepositoryFile] = {}
    for name, items in _config_map_items(pod):
        config_map = _config_map(cluster, name, pod.manifest.namespace)
        data = config_map.data.get("data") if config_map is not None else None
        if config_map is None or not isinstance(data, dict):
            continue
        for key, path in items:
            text = data.get(key)
            if isinstance(text, str):
                found[path] = RepositoryFile(text, config_map, key)
    return found


def _model(name: str, files: dict[str, RepositoryFile]) -> ServedModel:
    config_file = files.get(f"{name}/config.pbtxt")
    if config_file is None:
        return ServedModel(name, None, None)
    config = read_located(config_file.text)
    return ServedModel(name, _dialect(config, f"{name}/{MODEL_YAML}" in files), config)


def _dialect(config: Field, has_model_yaml: bool) -> Dialect | None:
    inputs = {unquote(node.scalar("name") or "") for node in config.all("input")}
    if has_model_yaml or "sampling_param_max_tokens" in inputs:
        return "llmapi"
    if unquote(config.scalar("backend") or "") == "vllm":
        return "vllm"
    if {"text_input", "max_tokens"} <= inputs:
        return "text"
    if "input_ids" in inputs:
        return "tokens"
    return None


def _loaded_models(pod: PodTemplate) -> set[str]:
    loaded: set[str] = set()
    for container in pod.containers():
        args = [str(a) for key in ("command", "args") for a in container.data.get(key) or []]
        for index, arg in enumerate(args):
            if arg.startswith("--load-model="):
                loaded.add(arg.split("=", 1)[1])
            elif arg == "--load-model" and index + 1 < len(args):
                loaded.add(args[index + 1])
    return loaded


def _config_map_models(pod: PodTemplate) -> set[str]:
    folders: set[str] = set()
    for _, items in _config_map_items(pod):
        for _, path in items:
            parts = path.split("/")
            if len(parts) == 2 and parts[1] == "config.pbtxt" and parts[0]:
                folders.add(parts[0])
    return folders


def _config_map_items(pod: PodTemplate) -> list[tuple[str, list[tuple[str, str]]]]:
    """(ConfigMap name, [(key, path)]) for each configMap volume that lists its items."""
    volumes = pod.manifest.get((*pod.path, "spec", "volumes"))
    found = []
    for volume in volumes if isinstance(volumes, list) else []:
        source = volume.get("configMap") if isinstance(volume, dict) else None
        items = source.get("items") if isinstance(source, dict) else None
        pairs = [
            (str(item.get("key", "")), str(item.get("path", "")))
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict)
        ]
        if isinstance(source, dict) and pairs:
            found.append((str(source.get("name", "")), pairs))
    return found


def _config_map(cluster: Cluster, name: str, namespace: str | None) -> Manifest | None:
    for config_map in cluster.of_kind("ConfigMap"):
        same = config_map.name == name and same_namespace(config_map.namespace, namespace)
        if same and config_map.api_version == "v1":
            return config_map
    return None
