"""Models of one repository that would each load an engine onto the same GPUs.

One Triton server loads every model folder in its repository. A vLLM engine reserves
`gpu_memory_utilization` of each GPU's total memory (0.9 unless set) when it starts, once per
instance; a TensorRT-LLM engine loads its weights and then takes a fraction of whatever memory
is still free for its KV cache. Two vLLM engines whose reservations add up to more than the
whole GPU cannot both start, and a vLLM engine beside a TensorRT-LLM one starts or fails
depending on which one Triton happens to load first. The usual cause is a leftover folder: a
model renamed in the spec and rendered again beside its old copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import combinations

from crossfade.findings import Finding, Severity
from crossfade.lint.model import LintedModel, read_text
from crossfade.saved import parse_json

VLLM_DEFAULT_GPU_MEMORY_UTILIZATION = 0.9  # vLLM's own default


@dataclass(frozen=True)
class _Claim:
    model: LintedModel
    share: float | None  # of every GPU it uses; None: TensorRT-LLM (what is free at its load)
    gpus: frozenset[int] | None  # None: every GPU the server sees

    def describe(self) -> str:
        if self.share is None:
            return f"'{self.model.name}' (TensorRT-LLM: weights, then most of the free memory)"
        instances = self.model.instance_count()
        each = f" in each of {instances} instances" if instances > 1 else ""
        return f"'{self.model.name}' (vLLM: {self.share:.2f} of each GPU{each})"


def check_gpu_claims(models: list[LintedModel], only: str | None = None) -> list[Finding]:
    """Pairs of models that cannot both hold their GPU memory; with `only`, pairs with it."""
    claims = [claim for model in models if (claim := _claim(model)) is not None]
    findings: list[Finding] = []
    for first, second in combinations(claims, 2):
        if only is not None and only not in (first.model.name, second.model.name):
            continue
        if first.gpus is not None and second.gpus is not None and not first.gpus & second.gpus:
            continue  # pinned to different GPUs
        if first.share is None and second.share is None:
            continue  # two engines that share what is free, in turn: small, but both load
        if first.share is not None and second.share is not None:
            total = _total(first) + _total(second)
            if total <= 1.0:
                continue
            why = (
                f"together they reserve {total:.2f} of each GPU they share, so the engine "
                "loaded second fails for lack of memory"
            )
        else:
            why = (
                "whichever loads second finds too little memory free: vLLM fails to start, or "
                "TensorRT-LLM gets a KV cache too small to serve; which one depends on load order"
            )
        later = max(first, second, key=lambda claim: claim.model.name)
        findings.append(
            Finding(
                Severity.ERROR,
                "models-share-gpu",
                later.model.file,
                None,
                f"{first.describe()} and {second.describe()} both load an engine onto the same "
                f"GPUs of one Triton server; {why}",
                _hint(first, second),
            )
        )
    return findings


def _hint(first: _Claim, second: _Claim) -> str:
    names = f"'{first.model.name}' or '{second.model.name}'"
    fix = (
        f"remove the stale one of {names} (a renamed model leaves its old folder; "
        "`crossfade render` removes what it rendered before), or serve them from separate "
        "repositories on separate GPUs (instance_group gpus, gpu_device_ids)"
    )
    if first.share is not None and second.share is not None:
        fix += ", or lower gpu_memory_utilization in model.json so the shares add up to 1 or less"
    return fix


def _total(claim: _Claim) -> float:
    assert claim.share is not None
    return claim.share * claim.model.instance_count()


def _claim(model: LintedModel) -> _Claim | None:
    if model.role == "vllm":
        return _Claim(model, _utilization(model), _frozen(model.instance_gpus()))
    if (model.role == "tensorrt_llm" and model.backend == "tensorrtllm") or model.role == "llmapi":
        return _Claim(model, None, _frozen(_device_ids(model)))
    return None


def _utilization(model: LintedModel) -> float:
    """gpu_memory_utilization of the version Triton loads (the highest), else vLLM's default."""
    folders = model.version_folders()
    if folders:
        text, _ = read_text(max(folders, key=lambda folder: int(folder.name)) / "model.json")
        try:
            args = parse_json(text) if text is not None else None
        except json.JSONDecodeError:
            args = None  # reported by the vLLM checks
        value = args.get("gpu_memory_utilization") if isinstance(args, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1:
            return float(value)
    return VLLM_DEFAULT_GPU_MEMORY_UTILIZATION


def _device_ids(model: LintedModel) -> set[int] | None:
    value = model.parameters().get("gpu_device_ids", ("", 0))[0]
    ids = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    if not ids or not all(i.isdigit() for i in ids):
        return model.instance_gpus()
    return {int(i) for i in ids}


def _frozen(ids: set[int] | None) -> frozenset[int] | None:
    return frozenset(ids) if ids is not None else None
