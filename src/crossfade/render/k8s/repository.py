"""The rendered Triton model repository of one backend, shipped to its pods in a ConfigMap.

ConfigMap keys cannot hold '/', so each file's key is its path with '/' as '__' and the volume
maps keys back to paths. Triton is not pointed at that volume directly: a ConfigMap volume
holds hidden `..data` folders beside the models, and cannot hold the empty version folders
(`ensemble/1/`) Triton requires. An init container copies the models into an emptyDir instead,
so the server sees exactly what `crossfade render triton` writes, plus, for TensorRT-LLM's LLM
API model, the model.py and helpers.py the serving image holds (`llmapi.py`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from crossfade.errors import UsageError
from crossfade.render.k8s.common import (
    Backend,
    Context,
    Manifest,
    backend_labels,
    metadata,
    shell_command,
)
from crossfade.render.k8s.llmapi import llmapi_backend, model_files_script
from crossfade.render.tree import RenderedTree
from crossfade.render.triton import render_backend
from crossfade.spec.kubernetes_checks import MODEL_REPOSITORY_PATH

SOURCE_PATH = "/model_repository_src"
REPOSITORY_VOLUME = "model-repository"
SOURCE_VOLUME = "model-repository-src"
CHECKSUM_ANNOTATION = "checksum/model-repository"
CONFIG_MAP_LIMIT = 1024 * 1024 - 16 * 1024  # etcd's 1 MiB object limit, less room for metadata


@dataclass(frozen=True)
class ShippedRepository:
    """A backend's repository as Kubernetes objects: the ConfigMap and how a pod mounts it."""

    config_map: Manifest
    volumes: list[dict[str, Any]]
    init_container: dict[str, Any]
    mount: dict[str, Any]
    checksum: str


def config_key(relpath: str) -> str:
    return relpath.replace("/", "__")


def ship_repository(ctx: Context, backend: Backend, image: str) -> ShippedRepository:
    tree = render_backend(ctx.spec, backend)
    paths = sorted(tree.files)
    keys = [config_key(path) for path in paths]
    if len(set(keys)) != len(keys):
        raise ValueError(f"two repository files map to one ConfigMap key: {keys}")
    size = sum(len(tree.files[path].encode()) for path in paths)
    if size > CONFIG_MAP_LIMIT:
        raise UsageError(
            f"the {backend} model repository is {size} bytes, more than a ConfigMap holds "
            f"({CONFIG_MAP_LIMIT}); serve it from a volume instead"
        )
    name = ctx.object_name(backend, "models")
    config_map: Manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(ctx, name, backend_labels(ctx, backend)),
        "data": {key: tree.files[path] for key, path in zip(keys, paths, strict=True)},
    }
    volumes = [
        {"name": REPOSITORY_VOLUME, "emptyDir": {}},
        {
            "name": SOURCE_VOLUME,
            "configMap": {
                "name": name,
                "items": [
                    {"key": key, "path": path} for key, path in zip(keys, paths, strict=True)
                ],
            },
        },
    ]
    init_container = {
        "name": "model-repository",
        "image": image,
        "command": ["sh", "-c", _copy_script(tree, _image_files(ctx, backend, image))],
        "volumeMounts": [
            {"name": SOURCE_VOLUME, "mountPath": SOURCE_PATH, "readOnly": True},
            {"name": REPOSITORY_VOLUME, "mountPath": MODEL_REPOSITORY_PATH},
        ],
    }
    mount = {"name": REPOSITORY_VOLUME, "mountPath": MODEL_REPOSITORY_PATH, "readOnly": True}
    return ShippedRepository(config_map, volumes, init_container, mount, _checksum(tree))


def _image_files(ctx: Context, backend: Backend, image: str) -> list[str]:
    """Lines that add the files a repository takes from the serving image (the LLM API
    model's code), after the ConfigMap's files are copied."""
    llmapi = llmapi_backend(ctx)
    if backend != "tensorrtllm" or llmapi is None:
        return []
    return model_files_script(llmapi, image)


def _copy_script(tree: RenderedTree, then: list[str]) -> str:
    models = sorted({path.split("/", 1)[0] for path in tree.files})
    sources = [f"{SOURCE_PATH}/{model}" for model in models]
    lines = ["set -eu", shell_command(["cp", "-RL"], [*sources, f"{MODEL_REPOSITORY_PATH}/"])]
    if tree.folders:
        folders = [f"{MODEL_REPOSITORY_PATH}/{folder}" for folder in sorted(tree.folders)]
        lines.append(shell_command(["mkdir", "-p"], folders))
    return "\n".join([*lines, *then]) + "\n"


def _checksum(tree: RenderedTree) -> str:
    """Changes with any file or folder, so editing the spec rolls the pods."""
    digest = hashlib.sha256()
    for path in sorted(tree.files):
        digest.update(f"{path}\0{tree.files[path]}\0".encode())
    for folder in sorted(tree.folders):
        digest.update(f"{folder}/\0".encode())
    return digest.hexdigest()
