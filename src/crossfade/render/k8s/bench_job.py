"""The distributed benchmark: an Indexed Job whose pods each run one shard of `crossfade bench`.

Every pod gets the same totals and `--shard auto/N`; crossfade bench takes its own share (every
N-th request, 1/N of the rate or concurrency) from JOB_COMPLETION_INDEX. The pods start sending
at one wall-clock time: given (`--start-at`), or fixed at run time by the first pod to come up,
which writes it on the shared results volume for the others. Pod 0 merges the shards when all
have finished, or after a deadline without the missing ones (`bench_pod.py`). Each run writes
under RESULTS/JOB/UID, so a re-run never reads a stale start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from crossfade.errors import UsageError
from crossfade.render.k8s.bench_pod import RUN_ID_ENV, active_deadline_s, pod_script
from crossfade.render.k8s.common import (
    HTTP_PORT,
    Backend,
    Context,
    Manifest,
    claim_mount,
    claim_volume,
    metadata,
)
from crossfade.render.k8s.jobs import data_claims, job_labels, pod_resources, results_volume
from crossfade.render.k8s.llmapi import llmapi_backend
from crossfade.spec.kubernetes import BenchJob
from crossfade.spec.models import Spec

# Set by the Job controller on its pods (Kubernetes 1.27+); unique per Job object.
CONTROLLER_UID_FIELD = "metadata.labels['batch.kubernetes.io/controller-uid']"
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LATEST_PLAUSIBLE_START = 10**10  # year 2286: anything larger is milliseconds


@dataclass(frozen=True)
class BenchRun:
    """One benchmark Job: what it targets, with which load, starting when."""

    label: str
    target: str
    settings: BenchJob
    start_at: int | None = None


# The LLM API model takes no exact output length and counts no tokens: its Job's requests ask
# for at most the length, and the bench counts what came back with the workload's tokenizer.
LLMAPI_LENGTHS = (
    "the tensorrtllm bench Job speaks the LLM API model (triton-llmapi://), which cannot be asked "
    "for an exact output length: its requests ask for at most the length and the lengths are "
    "counted with the workload's tokenizer, so compare reports how the two backends' lengths differ"
)


def default_target(ctx: Context, backend: Backend, settings: BenchJob) -> str:
    """The backend's own Service, so each backend is measured without the traffic split."""
    host = f"{ctx.service_host(backend)}:{HTTP_PORT}"
    if backend == "tensorrtllm":
        llmapi = llmapi_backend(ctx)
        if llmapi is not None:
            return f"triton-llmapi://{host}/{llmapi.triton_model_name}"
        return f"triton-trtllm://{host}/{settings.tensorrtllm_model}"
    assert ctx.spec.vllm is not None
    return f"triton-vllm://{host}/{ctx.spec.vllm.triton_model_name}"


def spec_bench_runs(ctx: Context) -> list[BenchRun]:
    """A Job per backend of the spec."""
    settings = ctx.k8s.bench
    if settings is None:
        return []
    return [
        BenchRun(backend, default_target(ctx, backend, settings), settings)
        for backend in ctx.backends
    ]


def bench_notes(ctx: Context) -> list[str]:
    """What a reader of the bench Jobs should know: how the LLM API model's lengths are checked."""
    if ctx.k8s.bench is None or llmapi_backend(ctx) is None:
        return []
    return [LLMAPI_LENGTHS]


def resolve_bench_run(
    spec: Spec,
    *,
    backend: Backend | None = None,
    target: str | None = None,
    label: str | None = None,
    start_at: int | None = None,
    load: Mapping[str, Any] | None = None,
) -> BenchRun:
    """A run from the spec's kubernetes.bench with `load` (BenchJob fields) taking precedence."""
    ctx = Context.of(spec)
    settings = _settings(ctx, {k: v for k, v in (load or {}).items() if v is not None})
    if backend is None and target is None:
        if len(ctx.backends) != 1:
            raise UsageError("the spec has both backends: choose --backend or give --target URL")
        backend = ctx.backends[0]
    if backend is not None and backend not in ctx.backends:
        raise UsageError(f"the spec has no {backend} backend")
    label = label or backend or "target"
    if not _LABEL.match(label) or len(job_name_for(ctx, label)) > 63:
        raise UsageError(
            f"--name {label!r}: the Job name {job_name_for(ctx, label)!r} must be lowercase "
            "letters, digits and '-', at most 63 characters"
        )
    if start_at is not None and not 0 < start_at < _LATEST_PLAUSIBLE_START:
        raise UsageError(f"--start-at {start_at}: give Unix seconds (date +%s), not milliseconds")
    if target is None:
        assert backend is not None  # chosen above when no target was given
        target = default_target(ctx, backend, settings)
    return BenchRun(label, target, settings, start_at)


def _settings(ctx: Context, given: dict[str, Any]) -> BenchJob:
    base = ctx.k8s.bench.model_dump() if ctx.k8s.bench is not None else {}
    # A load level given on the command line replaces the spec's, whichever kind it was.
    if "concurrency" in given:
        base.pop("rate", None)
    if "rate" in given:
        base.pop("concurrency", None)
    try:
        return BenchJob.model_validate({**base, **given})
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        text = f"{where}: {message}" if where else message
        raise UsageError(f"bench settings (flags over kubernetes.bench): {text}") from None


def job_name_for(ctx: Context, label: str) -> str:
    return ctx.object_name("bench", label)


def job_name(ctx: Context, run: BenchRun) -> str:
    return job_name_for(ctx, run.label)


def bench_job(ctx: Context, run: BenchRun) -> Manifest:
    settings = run.settings
    name = job_name(ctx, run)
    volume, mount, results_path = results_volume(ctx)
    tokenizer = ctx.spec.model.tokenizer
    claims = data_claims(ctx, [tokenizer])
    container: dict[str, Any] = {
        "name": "bench",
        "image": ctx.crossfade_image("the bench Job"),
        "command": [
            "sh",
            "-c",
            pod_script(bench_arguments(ctx, run), settings, f"{results_path}/{name}", run.start_at),
        ],
        "env": [
            {"name": RUN_ID_ENV, "valueFrom": {"fieldRef": {"fieldPath": CONTROLLER_UID_FIELD}}}
        ],
    }
    resources = pod_resources(settings.cpu, settings.memory)
    if resources:
        container["resources"] = resources
    container["volumeMounts"] = [
        mount,
        *(claim_mount(volume_name, claim, read_only=True) for volume_name, claim in claims),
    ]
    pod_spec: dict[str, Any] = {"restartPolicy": "Never"}
    if ctx.k8s.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": s} for s in ctx.k8s.image_pull_secrets]
    pod_spec |= {
        "containers": [container],
        "volumes": [
            volume,
            *(claim_volume(volume_name, claim, read_only=True) for volume_name, claim in claims),
        ],
    }
    spec: dict[str, Any] = {
        "completionMode": "Indexed",
        "completions": settings.pods,
        "parallelism": settings.pods,
        # A failed shard fails alone; pod 0 still merges the others (--allow-missing).
        "backoffLimitPerIndex": 0,
        "activeDeadlineSeconds": active_deadline_s(settings),
    }
    labels = job_labels(ctx, "bench")
    spec["template"] = {"metadata": {"labels": labels}, "spec": pod_spec}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(ctx, name, labels),
        "spec": spec,
    }


def bench_arguments(ctx: Context, run: BenchRun) -> list[str]:
    """`crossfade bench` with the run's totals: the same on every pod."""
    settings = run.settings
    args = [
        "crossfade",
        "bench",
        run.target,
        f"--name={ctx.object_name(run.label)}",
        f"--tokenizer={ctx.spec.model.tokenizer}",
        f"--input-len={settings.input_len}",
        f"--output-len={settings.output_len}",
        f"--timeout={settings.request_timeout_s:g}",
    ]
    if settings.concurrency is not None:
        args.append(f"--concurrency={settings.concurrency}")
    if settings.rate is not None:
        args.append(f"--rate={settings.rate:g}")
    if settings.requests is not None:
        args.append(f"--requests={settings.requests}")
    if settings.duration_s is not None:
        args.append(f"--duration={settings.duration_s:g}")
    return [*args, f"--shard=auto/{settings.pods}", *settings.extra_args]
