"""The built-in kinds' schemas: kubernetes-validate's strict JSON schemas, per Kubernetes version.

kubernetes_validate.validate() stops at the first error and rereads the 1.3 MB definitions
file on every call; the same files, loaded once and driven through jsonschema's iter_errors,
give every error of a resource at once. The file layout followed here is kubernetes-validate's
(`v1.31.0-local-strict/deployment-apps-v1.json`, `$ref`s into `_definitions.json`).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from crossfade.errors import UsageError

_SCHEMA_DIR = "kubernetes-json-schema"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_API_PREFIX = re.compile(r"^([^./]*)(?:\.[^/]*)?/")


def k8s_versions() -> list[str]:
    """The Kubernetes versions kubernetes-validate has strict schemas for, oldest first."""
    root = resources.files("kubernetes_validate").joinpath(_SCHEMA_DIR)
    found = (re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", e.name) for e in root.iterdir())
    pairs = sorted({(int(m[1]), int(m[2])) for m in found if m})
    return [f"{major}.{minor}" for major, minor in pairs]


def resolve_k8s_version(requested: str | None) -> str:
    """`requested` as major.minor (newest when None), checked against the schemas at hand."""
    available = k8s_versions()
    if requested is None:
        return available[-1]
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", requested.strip())
    version = f"{int(match[1])}.{int(match[2])}" if match else None
    if version not in available:
        raise UsageError(
            f"--k8s-version {requested}: kubernetes-validate has schemas for "
            f"{available[0]} to {available[-1]}; pick one of those (as 1.31)"
        )
    return version


def _strict_folder(version: str) -> Traversable:
    return resources.files("kubernetes_validate").joinpath(
        _SCHEMA_DIR, f"v{version}.0-local-strict"
    )


class CoreSchemas:
    """Validators for the built-in kinds of one Kubernetes version, built once per kind."""

    def __init__(self, version: str) -> None:
        self.version = version
        self._folder = _strict_folder(version)

    def validator(self, kind: str, api_version: str) -> Any | None:
        return _core_validator(self.version, _schema_file(kind, api_version))

    def metadata_validator(self) -> Any | None:
        return _object_meta_validator(self.version)

    def served_as(self, kind: str) -> list[str]:
        """apiVersions this Kubernetes serves `kind` in (empty: not a built-in kind)."""
        prefix = f"{kind.lower()}-"
        served = []
        for entry in self._folder.iterdir():
            if entry.name.startswith(prefix) and entry.name.endswith(".json"):
                for gvk in json.loads(entry.read_text()).get("x-kubernetes-group-version-kind", []):
                    if gvk.get("kind") == kind:
                        group = gvk.get("group")
                        served.append(f"{group}/{gvk['version']}" if group else gvk["version"])
        return sorted(set(served))


def _schema_file(kind: str, api_version: str) -> str:
    # kubernetes-validate's naming: apps/v1 -> apps-v1, networking.k8s.io/v1 -> networking-v1.
    group_version = _API_PREFIX.sub(r"\1-", api_version)
    return f"{kind.lower()}-{group_version}.json"


@cache
def _core_registry(version: str) -> Any:
    from referencing import Registry, Resource

    definitions = _strict_folder(version).joinpath("_definitions.json").read_text()
    return Resource.from_contents(json.loads(definitions)) @ Registry()


@cache
def _core_validator(version: str, filename: str) -> Any | None:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from referencing import Resource

    entry = _strict_folder(version).joinpath(filename)
    if not entry.is_file():
        return None
    schema = json.loads(entry.read_text())
    registry = Resource.from_contents(schema) @ _core_registry(version)
    return Draft202012Validator(schema, registry=registry)


@cache
def _object_meta_validator(version: str) -> Any | None:
    from jsonschema import Draft202012Validator
    from referencing.exceptions import Unresolvable

    registry = _core_registry(version)
    reference = f"/api/_definitions.json#/$defs/{_OBJECT_META}"
    schema = {"$id": "https://kubernetes.io/api/crossfade/metadata", "$ref": reference}
    try:
        registry.resolver(base_uri=schema["$id"]).lookup(reference)
    except Unresolvable:  # a kubernetes-validate release laid out otherwise: skip this extra
        return None
    return Draft202012Validator(schema, registry=registry)
