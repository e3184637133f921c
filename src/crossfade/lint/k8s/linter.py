"""Lint a set of Kubernetes manifests: schemas per resource, then references across them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crossfade.errors import UsageError
from crossfade.findings import Finding
from crossfade.lint.k8s.channel import CHANNELS, GATEWAY_GROUP, check_channel, experimental_fields
from crossfade.lint.k8s.core import CoreSchemas, resolve_k8s_version
from crossfade.lint.k8s.crds import CrdIndex, build_index, crd_files
from crossfade.lint.k8s.crossrefs import check_workloads
from crossfade.lint.k8s.gateway import check_gateway
from crossfade.lint.k8s.gpu import EngineParallelism, check_gpus
from crossfade.lint.k8s.istio import check_istio
from crossfade.lint.k8s.llmapi import check_llmapi_pods
from crossfade.lint.k8s.load import ManifestFile
from crossfade.lint.k8s.objects import Cluster
from crossfade.lint.k8s.schemas import check_schema
from crossfade.lint.k8s.shipped import shipped_versions
from crossfade.lint.k8s.split import check_splits


@dataclass(frozen=True)
class K8sOptions:
    """What `crossfade lint` needs beyond the manifests: schemas and the engine."""

    crd_paths: tuple[Path, ...] = ()
    k8s_version: str | None = None  # None: the newest kubernetes-validate has
    engine: Path | None = None
    gateway_channel: str | None = None


def lint_manifest_files(files: Sequence[ManifestFile], options: K8sOptions) -> list[Finding]:
    """All findings for the manifests in `files`, which are linted as one set."""
    manifests = [m for f in files for m in f.manifests]
    findings = [finding for f in files for finding in f.findings]
    if options.gateway_channel not in (None, *CHANNELS):
        raise UsageError(f"--gateway-channel must be one of {', '.join(CHANNELS)}")
    core = CoreSchemas(resolve_k8s_version(options.k8s_version))
    kinds = {m.kind for m in manifests}
    given = crd_files(options.crd_paths)
    shipped = shipped_versions(kinds)
    crds = build_index(given, kinds, manifests, options.gateway_channel, shipped)
    channel = route_channel(crds, options.gateway_channel)
    for manifest in manifests:
        # Experimental fields under a standard CRD get their own finding, not "unknown field".
        covered = set(experimental_fields(manifest)) if channel == "standard" else set()
        findings += check_channel(manifest, channel)
        findings += check_schema(manifest, core, crds, covered)
    cluster = Cluster(manifests)
    findings += check_workloads(cluster)
    findings += check_istio(cluster)
    findings += check_gateway(cluster)
    findings += check_gpus(cluster, _engine(options.engine))
    findings += check_llmapi_pods(cluster)
    findings += check_splits(cluster)
    return findings


def route_channel(crds: CrdIndex, flag: str | None) -> str | None:
    """The Gateway API channel routes are checked against: the flag, else the CRD's own
    (standard for the shipped CRDs, unless the flag picks the experimental ones)."""
    given = crds.channel_of(GATEWAY_GROUP, "HTTPRoute")
    if flag is not None and given is not None and given != flag:
        raise UsageError(
            f"--gateway-channel {flag}, but the HTTPRoute CRD given with --crd-dir is the "
            f"{given} channel; pass the {flag}-channel CRD"
        )
    return flag or given


def _engine(folder: Path | None) -> EngineParallelism | None:
    if folder is None:
        return None
    from crossfade.engine.config import read_engine_config

    info = read_engine_config(folder)
    if info.tp_size is None or info.pp_size is None:
        raise UsageError(
            f"--engine {folder}: {info.config_path} does not say tp_size and pp_size, "
            "so the GPU count cannot be checked"
        )
    return EngineParallelism(info.tp_size, info.pp_size, f"the engine in {folder}")
