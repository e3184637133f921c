"""Checks between the `kubernetes` section and the rest of the spec.

A pod with fewer GPUs than the model's parallelism, or an engine path no volume provides, fails
only after the cluster has scheduled and pulled everything; these checks fail at load instead.
Each problem is (field path, message), the path being where the fix most likely goes.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from crossfade.spec.kubernetes import BackendPods, KubernetesSection
from crossfade.spec.tensorrtllm import TensorRTLLMApi, TensorRTLLMBackend, TensorRTLLMEngine

if TYPE_CHECKING:
    from crossfade.spec.models import ModelSection, VllmBackend

Problem = tuple[str, str]

# Mounted by every rendered Triton pod; storage must not hide them.
MODEL_REPOSITORY_PATH = "/model_repository"
RESERVED_PATHS = (MODEL_REPOSITORY_PATH, "/dev/shm")
_BASE_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def base_name(section: KubernetesSection, model: ModelSection) -> str:
    """The name every rendered object starts with."""
    return section.name or model.name.lower()


def kubernetes_problems(
    section: KubernetesSection,
    model: ModelSection,
    tensorrtllm: TensorRTLLMBackend | None,
    vllm: VllmBackend | None,
) -> list[Problem]:
    problems: list[Problem] = []
    if section.name is None and (not _BASE_NAME.match(model.name.lower()) or len(model.name) > 40):
        problems.append(
            (
                "name",
                f"model.name '{model.name}' is not usable in Kubernetes names (lowercase letters, "
                "digits and '-', starting with a letter, at most 40): set kubernetes.name",
            )
        )
    for backend, pods in (("tensorrtllm", section.tensorrtllm), ("vllm", section.vllm)):
        present = tensorrtllm if backend == "tensorrtllm" else vllm
        if pods is not None and present is None:
            problems.append((backend, f"the spec has no '{backend}' backend to run"))
    problems += _images(section, tensorrtllm, vllm)
    if tensorrtllm is not None:
        problems += _tensorrtllm(section, tensorrtllm)
    if vllm is not None:
        problems += _vllm(section, vllm)
    problems += _paths(section, model, tensorrtllm, vllm)
    problems += _jobs_and_traffic(section, tensorrtllm, vllm)
    return problems


def _images(
    section: KubernetesSection, tensorrtllm: TensorRTLLMBackend | None, vllm: VllmBackend | None
) -> list[Problem]:
    problems: list[Problem] = []
    for backend in (b for b in (tensorrtllm, vllm) if b is not None):
        full_reference = ":" in backend.image
        if full_reference and section.triton_image is not None:
            problems.append(
                (
                    "triton_image",
                    f"'{backend.image}' already names an image; give a bare tag there "
                    "or remove kubernetes.triton_image",
                )
            )
        elif not full_reference and section.triton_image is None:
            problems.append(
                (
                    "triton_image",
                    f"'{backend.image}' is a bare tag: set kubernetes.triton_image to the image "
                    "it belongs to (e.g. registry.example/nvidia/tritonserver)",
                )
            )
    return problems[:1]


def _tensorrtllm(section: KubernetesSection, backend: TensorRTLLMBackend) -> list[Problem]:
    gpus = (section.tensorrtllm or BackendPods()).gpus
    if isinstance(backend, TensorRTLLMApi):
        return _llmapi_gpus(gpus, backend)
    problems: list[Problem] = []
    build = section.engine_build
    if build is not None and build.world_size != gpus:
        problems.append(
            (
                "tensorrtllm.gpus",
                f"{gpus} GPU(s) per pod but the engine is tp_size x pp_size = {build.world_size} "
                "(kubernetes.engine_build); each rank needs its own GPU",
            )
        )
    ids = backend.gpu_device_ids
    if ids is not None and (len(ids) != gpus or max(ids, default=0) >= gpus):
        problems.append(
            (
                "tensorrtllm.gpus",
                f"{gpus} GPU(s) per pod but tensorrtllm.gpu_device_ids is {ids}; a pod sees its "
                f"GPUs as 0..{gpus - 1}",
            )
        )
    return problems


def _llmapi_gpus(gpus: int, backend: TensorRTLLMApi) -> list[Problem]:
    problem = llmapi_gpu_problem(
        gpus, backend.parallel_size, backend.instance_count, backend.gpu_device_ids
    )
    if problem is None:
        return []
    fix = "give each pod the GPUs the model uses, numbered from 0"
    return [("tensorrtllm.gpus", f"{gpus} GPU(s) per pod but tensorrtllm: {problem}: {fix}")]


def llmapi_gpu_problem(
    gpus: int, parallel_size: int, instances: int, gpu_device_ids: list[list[int]] | None
) -> str | None:
    """Why a pod with `gpus` GPUs does not fit the LLM API model, or None when it does.

    One instance takes tensor x pipeline parallel GPUs and ignores gpu_device_ids (the model
    reads them only with more than one instance). Several instances take the GPUs their
    gpu_device_ids name, and may share one (upstream's docs/llmapi.md runs two on GPU 0 with
    "0;0"), so the pod must have exactly the GPUs named: 0..gpus-1, each of them used.
    """
    if instances == 1 or not gpu_device_ids:
        needed = parallel_size * instances
        if needed == gpus:
            return None
        return (
            "tensor_parallel_size x pipeline_parallel_size"
            + (f" x instance_count {instances}" if instances > 1 else "")
            + f" = {needed}"
        )
    named = sorted({gpu for group in gpu_device_ids for gpu in group})
    if named == list(range(gpus)):
        return None
    return (
        f"gpu_device_ids {gpu_device_ids} names GPU(s) {', '.join(map(str, named))}; a pod "
        f"sees its GPUs as 0..{gpus - 1}, and each should serve an instance"
    )


def _vllm(section: KubernetesSection, backend: VllmBackend) -> list[Problem]:
    gpus = (section.vllm or BackendPods()).gpus
    if backend.parallel_size != gpus:
        return [
            (
                "vllm.gpus",
                f"{gpus} GPU(s) per pod but vllm.engine_args tensor_parallel_size x "
                f"pipeline_parallel_size = {backend.parallel_size}",
            )
        ]
    return []


def _paths(
    section: KubernetesSection,
    model: ModelSection,
    tensorrtllm: TensorRTLLMBackend | None,
    vllm: VllmBackend | None,
) -> list[Problem]:
    storage = section.storage
    claims = [("storage.weights", storage.weights)]
    if storage.engines is not None:
        claims.append(("storage.engines", storage.engines))
    if storage.results is not None:
        claims.append(("storage.results", storage.results))
    problems: list[Problem] = []
    for index, (field, claim) in enumerate(claims):
        mount = PurePosixPath(claim.mount_path)
        for reserved in RESERVED_PATHS:
            if _nested(mount, PurePosixPath(reserved)):
                problems.append((f"{field}.mount_path", f"{mount} overlaps {reserved}"))
        for other_field, other in claims[index + 1 :]:
            if _nested(mount, PurePosixPath(other.mount_path)):
                problems.append(
                    (
                        f"{field}.mount_path",
                        f"{mount} overlaps kubernetes.{other_field} ({other.mount_path})",
                    )
                )
    if problems:
        return problems
    if isinstance(tensorrtllm, TensorRTLLMEngine) and storage.engines is None:
        return [("storage.engines", "tensorrtllm needs a volume for its engine: add engines:")]
    mounts = [PurePosixPath(claim.mount_path) for _, claim in claims]
    needed: list[tuple[str, str]] = [("model.tokenizer", model.tokenizer)]
    if isinstance(tensorrtllm, TensorRTLLMEngine):
        needed.append(("tensorrtllm.engine_dir", tensorrtllm.engine_dir))
        if tensorrtllm.tokenizer_dir:
            needed.append(("tensorrtllm.tokenizer_dir", tensorrtllm.tokenizer_dir))
    elif tensorrtllm is not None:
        for key in ("model", "tokenizer"):
            path = str(tensorrtllm.llm_args.get(key, ""))
            if path.startswith("/"):  # otherwise a hub id, downloaded at start
                needed.append((f"tensorrtllm.llm_args.{key}", path))
    if vllm is not None:
        model_path = str(vllm.engine_args["model"])
        if model_path.startswith("/"):  # otherwise a hub id, downloaded at start
            needed.append(("vllm.engine_args.model", model_path))
        needed += [(f"vllm.lora_adapters.{k}", v) for k, v in vllm.lora_adapters.items()]
    if section.engine_build is not None:
        needed.append(
            ("kubernetes.engine_build.checkpoint_dir", section.engine_build.checkpoint_dir)
        )
    for field, path in needed:
        if not any(PurePosixPath(path).is_relative_to(mount) for mount in mounts):
            where = ", ".join(str(mount) for mount in mounts)
            problems.append(
                ("storage", f"{field} {path} is on none of the mounted volumes ({where})")
            )
    return problems


def _nested(first: PurePosixPath, second: PurePosixPath) -> bool:
    return first.is_relative_to(second) or second.is_relative_to(first)


def _jobs_and_traffic(
    section: KubernetesSection, tensorrtllm: TensorRTLLMBackend | None, vllm: VllmBackend | None
) -> list[Problem]:
    problems: list[Problem] = []
    if section.engine_build is not None:
        if tensorrtllm is None:
            problems.append(("engine_build", "there is no tensorrtllm backend to build for"))
        elif isinstance(tensorrtllm, TensorRTLLMApi):
            problems.append(
                (
                    "engine_build",
                    "the LLM API layout loads the checkpoint and builds no engine: remove "
                    "kubernetes.engine_build (or keep the legacy tensorrtllm.layout: engine)",
                )
            )
        if section.crossfade_image is None:
            problems.append(("crossfade_image", "engine_build stamps the engine with crossfade"))
    if section.bench is not None:
        if section.crossfade_image is None:
            problems.append(("crossfade_image", "the bench Job's pods run crossfade"))
        if section.storage.results is None:
            problems.append(("storage.results", "the bench Job's pods write their shards there"))
    traffic = section.traffic
    if traffic is not None:
        if tensorrtllm is None or vllm is None:
            problems.append(("traffic", "a traffic split needs both backends in the spec"))
        if traffic.router == "gateway-api" and traffic.gateway is None:
            problems.append(("traffic.gateway", "an HTTPRoute needs the Gateway it attaches to"))
    return problems
