"""Test support: example specs with changes, rendered objects by kind, and strict schema checks.

Core kinds are checked with kubernetes-validate's strict schemas; Istio and Gateway API kinds
against the CRD schemas crossfade ships (lint/k8s/crd_schemas, from the upstream CRDs) with
`additionalProperties: false` added here to every object that lists its properties, which is
what an API server with strict field validation enforces (a CRD schema alone lets a misspelled
key through).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from crossfade.lint.k8s.crds import build_index
from crossfade.lint.k8s.shipped import shipped_versions
from crossfade.render.k8s.manifests import render_k8s
from crossfade.render.k8s.traffic import Channel
from crossfade.spec import Spec, parse_spec
from tests.support.layouts import ENGINE_SPECS, Layout, as_layout

# The examples in the legacy engine layout, frozen: what most Kubernetes tests are about (the
# engine build Job, the ensemble's split and canary); `layout_spec` gives either layout.
SPEC_8B = ENGINE_SPECS / "llama-3-8b.yaml"
SPEC_70B = ENGINE_SPECS / "llama-3-70b-fp8-tp4.yaml"
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.utils.latest_version())


def example_data(path: Path = SPEC_8B) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def spec_with(change: Callable[[dict[str, Any]], object], path: Path = SPEC_8B) -> Spec:
    """The example at `path` after `change` edits its data in place."""
    data = example_data(path)
    change(data)
    return parse_spec(yaml.safe_dump(data, sort_keys=False), path.name)


def layout_spec(
    layout: Layout,
    change: Callable[[dict[str, Any]], object] = lambda data: None,
    path: Path = SPEC_8B,
) -> Spec:
    """The example at `path` in TensorRT-LLM `layout` (whichever it is written in), then
    edited by `change`."""
    return spec_with(lambda data: change(as_layout(data, layout)), path)


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def objects(spec: Spec, channel: Channel = "standard") -> list[dict[str, Any]]:
    tree = render_k8s(spec, "spec.yaml", channel)
    return [doc for path in sorted(tree.files) for doc in documents(tree.files[path])]


def of_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == kind]


def named(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [m for m in of_kind(manifests, kind) if m["metadata"]["name"] == name]
    return found


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        for value in node.values():
            _strict(value)
        lists_properties = "properties" in node and node.get("type") == "object"
        open_ended = "additionalProperties" in node or node.get(
            "x-kubernetes-preserve-unknown-fields"
        )
        if lists_properties and not open_ended:
            node["additionalProperties"] = False
    elif isinstance(node, list):
        for item in node:
            _strict(item)
    return node


@cache
def crd_validator(api_version: str, kind: str, channel: Channel) -> jsonschema.Draft7Validator:
    group, version = api_version.rsplit("/", 1)
    crds = build_index((), {kind}, (), channel, shipped_versions({kind}))
    crd = crds.find(group, version, kind)
    if crd is None:
        raise LookupError(f"no shipped CRD schema for {kind} {api_version}")
    schema = _strict(copy.deepcopy(crd.schema))
    # The CRD leaves the envelope to the API server; check it as strictly.
    schema["properties"] |= {
        "apiVersion": {"type": "string", "enum": [api_version]},
        "kind": {"type": "string", "enum": [kind]},
        "metadata": {"type": "object"},
    }
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    return jsonschema.Draft7Validator(schema)


def schema_errors(manifest: dict[str, Any], channel: Channel = "standard") -> list[str]:
    """Why the API server would refuse `manifest`; empty when it validates."""
    kind, api_version = manifest["kind"], manifest["apiVersion"]
    if api_version.startswith(("networking.istio.io/", "gateway.networking.k8s.io/")):
        validator = crd_validator(api_version, kind, channel)
        return [
            f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(manifest)
        ]
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{version} {'.'.join(map(str, exc.path))}: {exc.message}")
    return errors
