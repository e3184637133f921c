"""The TensorRT-LLM engine build Job, and the pieces the benchmark Job shares with it.

The build runs trtllm-build in the very image and on the GPU type that will serve the engine,
then `crossfade engine stamp` records both next to it: a version or GPU mismatch cannot arise.
The stamp runs from the crossfade image after the build, with the GPU name the build container
read from nvidia-smi (the stamp container has no GPU of its own).
"""

from __future__ import annotations

from typing import Any

from crossfade.errors import UsageError
from crossfade.render.k8s.common import (
    COMPONENT_LABEL,
    ENGINES_VOLUME,
    MANAGED_BY_LABEL,
    RESULTS_VOLUME,
    WEIGHTS_VOLUME,
    Context,
    Manifest,
    claim_mount,
    claim_volume,
    gpu_resources,
    metadata,
    scheduling,
    shell_command,
    shm_size,
)
from crossfade.render.k8s.workloads import SHM_VOLUME
from crossfade.spec.kubernetes import VolumeClaim
from crossfade.spec.tensorrtllm import TensorRTLLMEngine

PART_OF_LABEL = "app.kubernetes.io/part-of"
HANDOFF_VOLUME, HANDOFF_PATH = "handoff", "/handoff"


def job_labels(ctx: Context, component: str) -> dict[str, str]:
    # No app.kubernetes.io/name: the serving Services and monitors select by it.
    return {PART_OF_LABEL: ctx.name, COMPONENT_LABEL: component, MANAGED_BY_LABEL: "crossfade"}


def engine_build_job(ctx: Context) -> Manifest | None:
    build = ctx.k8s.engine_build
    trt = ctx.spec.tensorrtllm
    engines = ctx.k8s.storage.engines
    if build is None or not isinstance(trt, TensorRTLLMEngine) or engines is None:
        return None  # the LLM API layout loads its checkpoint: nothing to build
    image = ctx.triton_image("tensorrtllm")
    pods = ctx.pods("tensorrtllm")
    build_flags = [
        f"--checkpoint_dir={build.checkpoint_dir}",
        f"--output_dir={trt.engine_dir}",
        f"--workers={build.world_size}",
        *build.build_args,
    ]
    gpu_file = f"{HANDOFF_PATH}/gpu"
    build_script = "\n".join(
        [
            "set -eu",
            shell_command(["trtllm-build"], build_flags),
            f"nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 > {gpu_file}",
        ]
    )
    stamp = shell_command(
        ["exec", "crossfade", "engine", "stamp", trt.engine_dir],
        [f"--image={image}"],
        [f'--gpu="$(cat {gpu_file})"'],
    )
    stamp_script = f"set -eu\n{stamp}"
    handoff = {"name": HANDOFF_VOLUME, "mountPath": HANDOFF_PATH}
    builder = {
        "name": "build",
        "image": image,
        "command": ["sh", "-c", build_script + "\n"],
        "resources": gpu_resources(pods, pods.gpus),
        "volumeMounts": [
            claim_mount(WEIGHTS_VOLUME, ctx.k8s.storage.weights, read_only=True),
            claim_mount(ENGINES_VOLUME, engines, read_only=False),
            handoff,
            {"name": SHM_VOLUME, "mountPath": "/dev/shm"},
        ],
    }
    stamper = {
        "name": "stamp",
        "image": ctx.crossfade_image("the engine build Job"),
        "command": ["sh", "-c", stamp_script + "\n"],
        "volumeMounts": [claim_mount(ENGINES_VOLUME, engines, read_only=False), handoff],
    }
    pod_spec = {
        **scheduling(ctx, pods),
        "restartPolicy": "Never",
        # Init containers run to completion in order: the stamp starts only after the build.
        "initContainers": [builder],
        "containers": [stamper],
        "volumes": [
            claim_volume(WEIGHTS_VOLUME, ctx.k8s.storage.weights, read_only=True),
            claim_volume(ENGINES_VOLUME, engines, read_only=False),
            {"name": HANDOFF_VOLUME, "emptyDir": {}},
            {
                "name": SHM_VOLUME,
                "emptyDir": {"medium": "Memory", "sizeLimit": shm_size(ctx, "tensorrtllm")},
            },
        ],
    }
    labels = job_labels(ctx, "engine-build")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(ctx, ctx.object_name("engine-build"), labels),
        "spec": {
            "backoffLimit": 0,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def data_claims(ctx: Context, paths: list[str]) -> list[tuple[str, VolumeClaim]]:
    """The storage volumes (name, claim) holding any of `paths`."""
    storage = ctx.k8s.storage
    candidates = [(WEIGHTS_VOLUME, storage.weights)]
    if storage.engines is not None:
        candidates.append((ENGINES_VOLUME, storage.engines))
    found = []
    for name, claim in candidates:
        prefix = claim.mount_path.rstrip("/") + "/"
        if any(path == claim.mount_path or path.startswith(prefix) for path in paths):
            found.append((name, claim))
    return found


def pod_resources(cpu: str | None, memory: str | None) -> dict[str, Any]:
    """CPU and memory of a pod without GPUs (an empty dict when neither is given)."""
    requests = {key: value for key, value in (("cpu", cpu), ("memory", memory)) if value}
    if not requests:
        return {}
    resources: dict[str, Any] = {"requests": requests}
    if memory is not None:
        resources["limits"] = {"memory": memory}
    return resources


def results_volume(ctx: Context) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The results claim as (volume, mount, mount path)."""
    results = ctx.k8s.storage.results
    if results is None:
        raise UsageError(
            "the bench Job's pods write their shards to a shared volume: "
            "set kubernetes.storage.results (a ReadWriteMany claim)"
        )
    return (
        claim_volume(RESULTS_VOLUME, results, read_only=False),
        claim_mount(RESULTS_VOLUME, results, read_only=False),
        results.mount_path.rstrip("/"),
    )
