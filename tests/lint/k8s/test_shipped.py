"""The CRD schemas crossfade ships: what they cover, where they came from, what they hold, and how
a cluster's own CRD given with --crd-dir replaces them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from crossfade.lint.k8s import shipped
from crossfade.lint.k8s.crds import structural
from crossfade.lint.k8s.shipped import shipped_kinds, shipped_versions
from tests.support.findings import located
from tests.support.k8s_lint import cluster_crd, lint
from tests.support.paths import ROOT
from tests.support.planting import plant

SCHEMAS = ROOT / "src/crossfade/lint/k8s/crd_schemas"
SOURCES = ROOT / "scripts/crd_sources.toml"


def test_the_kinds_crossfade_renders_or_deploys_with_are_shipped() -> None:
    assert {(k.group, k.kind, k.channel) for k in shipped_kinds()} == {
        ("networking.istio.io", "VirtualService", None),
        ("networking.istio.io", "DestinationRule", None),
        ("networking.istio.io", "Gateway", None),
        ("gateway.networking.k8s.io", "HTTPRoute", "standard"),
        ("gateway.networking.k8s.io", "HTTPRoute", "experimental"),
        ("inference.networking.k8s.io", "InferencePool", None),
        ("argoproj.io", "Rollout", None),
        ("argoproj.io", "AnalysisTemplate", None),
        ("flagger.app", "Canary", None),
        ("flagger.app", "MetricTemplate", None),
        ("flagger.app", "AlertProvider", None),
        ("monitoring.coreos.com", "PodMonitor", None),
        ("monitoring.coreos.com", "ServiceMonitor", None),
    }
    istio = {v.version for v in shipped_versions({"VirtualService"})}
    assert istio == {"v1", "v1beta1", "v1alpha3"}


def test_each_shipped_schema_names_its_source_as_listed_in_the_sources_file() -> None:
    listed = tomllib.loads(SOURCES.read_text(encoding="utf-8"))["source"]
    index = json.loads((SCHEMAS / "index.json").read_text(encoding="utf-8"))
    recorded = [{k: s[k] for k in ("repository", "commit", "path")} for s in index["sources"]]
    assert recorded == [{k: s[k] for k in ("repository", "commit", "path")} for s in listed]
    assert all(len(digest) == 64 for s in index["sources"] for digest in s["sha256"].values())
    cited = {f"{s['repository']}@{s['commit']}:{s['path']}" for s in listed}
    versions = shipped_versions({k.kind for k in shipped_kinds()})
    assert {v.source for v in versions} == cited
    files = {p.name for p in SCHEMAS.iterdir()}
    assert files == {"index.json", *(k.file for k in shipped_kinds())}


def _keys(node: Any, found: set[str]) -> set[str]:
    """Every schema keyword under `node` (not the property names)."""
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            children = value.values() if key in ("properties", "patternProperties") else [value]
            for child in children:
                _keys(child, found)
    elif isinstance(node, list):
        for item in node:
            _keys(item, found)
    return found


def test_the_shipped_schemas_are_structural_with_no_prose() -> None:
    versions = shipped_versions({k.kind for k in shipped_kinds()})
    for version in versions:
        assert structural(version.schema) == version.schema, version.kind
    keys = set().union(*(_keys(v.schema, set()) for v in versions))
    assert not keys & {"description", "title", "default", "example", "x-kubernetes-validations"}
    assert {"type", "properties", "required", "enum", "pattern", "format"} <= keys
    assert {"x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields"} <= keys


def test_only_the_kinds_being_linted_are_read(
    manifests: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    original = shipped._read

    def recording(name: str) -> str:
        read.append(name)
        return original(name)

    monkeypatch.setattr(shipped, "_read", recording)
    shipped._versions.cache_clear()
    shipped.shipped_kinds.cache_clear()
    try:
        assert lint(manifests) == []
        assert lint(manifests) == []  # the second time from the cache
    finally:
        shipped._versions.cache_clear()
        shipped.shipped_kinds.cache_clear()
    assert sorted(read) == [
        "gateway.networking.k8s.io_HTTPRoute_experimental.json",
        "gateway.networking.k8s.io_HTTPRoute_standard.json",
        "index.json",
        "networking.istio.io_DestinationRule.json",
        "networking.istio.io_VirtualService.json",
    ]


def _allow_mirror_ratio(version: dict[str, Any]) -> None:
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["mirrorRatio"] = {"type": "integer"}


def test_a_cluster_crd_replaces_the_shipped_schema_of_its_kind(
    manifests: Path, tmp_path: Path
) -> None:
    istio = manifests / "istio.yaml"
    line = plant(istio, "  hosts:", "  mirrorRatio: 5\n  hosts:")
    assert located(lint(manifests)) == {("k8s-unknown-field", str(istio), line)}
    own = cluster_crd(tmp_path / "crds", "VirtualService", change=_allow_mirror_ratio)
    assert lint(manifests, crds=(own,)) == []
    # The cluster's CRD says which versions it serves: a shipped one it lacks is not served.
    only_v1 = cluster_crd(
        tmp_path / "v1", "VirtualService", change=lambda v: v.update(served=v["name"] == "v1")
    )
    older = plant(istio, "networking.istio.io/v1\n", "networking.istio.io/v1beta1\n")
    found = located(lint(manifests, crds=(only_v1,)))
    assert ("k8s-api-version", str(istio), older) in found
    assert ("k8s-api-version", str(istio), older) not in located(lint(manifests))
