"""A TensorRT-LLM pod must get exactly the GPUs its engine was built for: tp x pp.

An engine built for tp=2 runs one rank per GPU; given one GPU the server fails to start its
ranks, given four it leaves two idle. The engine's own config.json (--engine) or the
`crossfade.io/tp-pp` annotation the renderer writes ("2x1": tp x pp) says how many.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crossfade.findings import Finding, Severity
from crossfade.lint.k8s.load import KeyPath
from crossfade.lint.k8s.objects import Cluster, PodTemplate, labels_at
from crossfade.render.k8s.common import TP_PP_ANNOTATION

GPU_RESOURCE = "nvidia.com/gpu"
_TRTLLM_ENGINE_TYPE = ("llm-d.ai/engine-type", "triton-tensorrt-llm")
BATCH_KINDS = ("Job", "CronJob")


@dataclass(frozen=True)
class EngineParallelism:
    """tp x pp as read from an engine folder, and where it was read."""

    tp: int
    pp: int
    source: str


def is_trtllm(pod: PodTemplate) -> bool:
    """Serves TensorRT-LLM: a trtllm image (Triton's `-trtllm-python-py3` tags), the llm-d
    engine-type label, or the tp-pp annotation."""
    images = " ".join(c.image.lower() for c in pod.containers())
    key, value = _TRTLLM_ENGINE_TYPE
    return (
        "trtllm" in images
        or "tensorrt-llm" in images
        or pod.labels.get(key) == value
        or _annotation(pod) is not None
    )


def check_gpus(cluster: Cluster, engine: EngineParallelism | None) -> list[Finding]:
    findings: list[Finding] = []
    # Serving workloads only: an engine-build Job may use any number of GPUs.
    serving = [pod for pod in cluster.pods() if pod.manifest.kind not in BATCH_KINDS]
    trtllm = [pod for pod in serving if is_trtllm(pod)]
    for pod in trtllm:
        count, at = gpu_count(pod)
        annotation = _annotation(pod)
        if annotation is not None:
            value, annotation_at = annotation
            parsed = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", value)
            if parsed is None:
                findings.append(
                    Finding(
                        Severity.ERROR,
                        "k8s-tp-pp-annotation",
                        pod.manifest.file,
                        pod.manifest.line(annotation_at),
                        f"{pod.manifest.title}: {TP_PP_ANNOTATION} is '{value}'",
                        'write it as TPxPP, e.g. "2x1"',
                    )
                )
            else:
                tp, pp = int(parsed[1]), int(parsed[2])
                source = f"its {TP_PP_ANNOTATION} annotation"
                findings += _compare(pod, count, at, EngineParallelism(tp, pp, source))
        if engine is not None:
            findings += _compare(pod, count, at, engine)
    if engine is not None and cluster.manifests and not trtllm:
        first = cluster.manifests[0]
        findings.append(
            Finding(
                Severity.WARNING,
                "k8s-gpu-count",
                first.file,
                None,
                f"--engine {engine.source} was given, but no TensorRT-LLM workload is among the "
                "manifests (none runs a trtllm image or carries "
                f"{TP_PP_ANNOTATION}), so no GPU count was checked",
                f"add the {TP_PP_ANNOTATION} annotation to the TensorRT-LLM Deployment",
            )
        )
    return findings


def _annotation(pod: PodTemplate) -> tuple[str, KeyPath] | None:
    """The tp-pp annotation on the pod template, else on the workload itself."""
    for path in ((*pod.path, "metadata", "annotations"), ("metadata", "annotations")):
        value = labels_at(pod.manifest.data, path).get(TP_PP_ANNOTATION)
        if value is not None:
            return value, (*path, TP_PP_ANNOTATION)
    return None


def gpu_count(pod: PodTemplate) -> tuple[int, KeyPath]:
    """GPUs per pod (limits; requests when only those are set) and the line to point at."""
    total, at = 0, pod.path
    for container in pod.containers():
        for section in ("limits", "requests"):
            path = (*container.path, "resources", section, GPU_RESOURCE)
            value = pod.manifest.get(path)
            if value is not None:
                total += int(value) if str(value).isdigit() else 0
                at = path if at == pod.path else at
                break
    if at == pod.path and pod.containers():
        at = pod.containers()[0].path
    return total, at


def _compare(pod: PodTemplate, count: int, at: KeyPath, engine: EngineParallelism) -> list[Finding]:
    wanted = engine.tp * engine.pp
    if count == wanted:
        return []
    says = f"{engine.source} says tp {engine.tp} x pp {engine.pp} = {wanted}; " + (
        "the engine's ranks cannot all start"
        if count < wanted
        else f"{count - wanted} GPU(s) would sit idle"
    )
    hint = (
        f"set resources.limits {GPU_RESOURCE}: {wanted}, or rebuild the engine for "
        f"tp x pp = {count}"
    )
    return [gpu_count_finding(pod, count, at, says, hint)]


def gpu_count_finding(pod: PodTemplate, count: int, at: KeyPath, says: str, hint: str) -> Finding:
    """A pod whose GPUs (`count`, given at `at`) are not what its model needs, as `says`."""
    return Finding(
        Severity.ERROR,
        "k8s-gpu-count",
        pod.manifest.file,
        pod.manifest.line(at),
        f"{pod.manifest.title}: each pod gets {count} GPU(s) ({GPU_RESOURCE}), but {says}",
        hint,
    )
