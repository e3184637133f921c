"""`crossfade render k8s`: every object as files, one per kind, Jobs apart in `jobs/`.

`kubectl apply -f DIR` does not descend into folders, so applying the serving objects never
starts a build or a benchmark by accident; the Jobs are applied one by one when wanted.
"""

from __future__ import annotations

import textwrap

from crossfade.render.k8s.bench_job import (
    BenchRun,
    bench_job,
    bench_notes,
    job_name,
    spec_bench_runs,
)
from crossfade.render.k8s.common import Context, Manifest
from crossfade.render.k8s.jobs import engine_build_job
from crossfade.render.k8s.llmapi import serving_notes
from crossfade.render.k8s.traffic import Channel, traffic_notes, traffic_objects
from crossfade.render.k8s.workloads import backend_service, monitor, serving_objects, shared_service
from crossfade.render.k8s.yamlout import dump_documents
from crossfade.render.tree import RenderedTree
from crossfade.spec.models import Spec

JOBS_FOLDER = "jobs"


def render_k8s(spec: Spec, source: str, channel: Channel = "standard") -> RenderedTree:
    ctx = Context.of(spec)
    by_kind: dict[str, list[Manifest]] = {}
    for backend in ctx.backends:
        config_map, deployment = serving_objects(ctx, backend)
        by_kind.setdefault("ConfigMap", []).append(config_map)
        by_kind.setdefault("Deployment", []).append(deployment)
        by_kind.setdefault("Service", []).append(backend_service(ctx, backend))
    traffic = ctx.k8s.traffic
    if traffic is not None and traffic.router == "istio":
        by_kind["Service"].append(shared_service(ctx))
    watcher = monitor(ctx)
    if watcher is not None:
        by_kind[watcher["kind"]] = [watcher]
    for manifest in traffic_objects(ctx, channel):
        by_kind.setdefault(manifest["kind"], []).append(manifest)

    notes = traffic_notes(ctx, channel)
    serving = serving_notes(ctx)
    header = [f"Rendered by `crossfade render k8s` from {source}: edit the spec, render again."]
    tree = RenderedTree()
    for kind, manifests in by_kind.items():
        extra = _note_lines(notes) if kind in _TRAFFIC_KINDS else []
        extra += _note_lines(serving) if kind == "Deployment" else []
        tree.add(f"{kind.lower()}.yaml", dump_documents(manifests, [*header, *extra]))

    build = engine_build_job(ctx)
    if build is not None:
        name = build["metadata"]["name"]
        lines = [
            *header,
            "Builds the engine the tensorrtllm Deployment loads; run it first:",
            f"  kubectl apply -f {JOBS_FOLDER}/{name}.yaml && "
            f"kubectl -n {ctx.namespace} wait --for=condition=complete job/{name} --timeout=4h",
        ]
        tree.add(f"{JOBS_FOLDER}/{name}.yaml", dump_documents([build], lines))
    bench_header = [*header, *_note_lines(bench_notes(ctx))]
    for run in spec_bench_runs(ctx):
        tree.add(f"{JOBS_FOLDER}/{job_name(ctx, run)}.yaml", bench_text(ctx, run, bench_header))
    return tree


_TRAFFIC_KINDS = {"VirtualService", "DestinationRule", "HTTPRoute"}


def _note_lines(notes: list[str]) -> list[str]:
    lines: list[str] = []
    for note in notes:
        lines += textwrap.wrap(f"Note: {note}", width=96, subsequent_indent="  ")
    return lines


def render_notes(spec: Spec, channel: Channel = "standard") -> list[str]:
    """What the rendered objects leave to the user (also written into the files they concern)."""
    ctx = Context.of(spec)
    return [*serving_notes(ctx), *traffic_notes(ctx, channel), *bench_notes(ctx)]


def bench_text(ctx: Context, run: BenchRun, header: list[str]) -> str:
    job = bench_job(ctx, run)
    name = job_name(ctx, run)
    results = ctx.k8s.storage.results
    assert results is not None  # bench_job has checked
    lines = [
        *header,
        f"{run.settings.pods} pod(s) each run one shard of `crossfade bench` against",
        f"  {run.target}",
        f"Results: {results.mount_path.rstrip('/')}/{name}/<job uid>/merged (pod 0 merges).",
        f"Run again: kubectl -n {ctx.namespace} delete job {name}, then apply this file.",
    ]
    return dump_documents([job], lines)


def render_bench_job(spec: Spec, source: str, run: BenchRun) -> RenderedTree:
    ctx = Context.of(spec)
    header = [f"Rendered by `crossfade render bench-job` from {source}."]
    tree = RenderedTree()
    tree.add(f"{job_name(ctx, run)}.yaml", bench_text(ctx, run, header))
    return tree


def as_stream(tree: RenderedTree) -> str:
    """Every file as one multi-document stream: top-level files first, then `jobs/`."""
    order = sorted(tree.files, key=lambda path: ("/" in path, path))
    return "".join(tree.files[path] for path in order)
