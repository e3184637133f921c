"""Schema findings per resource: built-in kinds against kubernetes-validate's strict schemas
(core.py), custom resources against their CRD's openAPIV3Schema made strict
(crds.strict_schema), and a warning for a custom kind no schema was given for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from crossfade.findings import Finding, Severity
from crossfade.lint.k8s.core import CoreSchemas
from crossfade.lint.k8s.crds import CrdIndex, CrdVersion, strict_schema
from crossfade.lint.k8s.load import KeyPath, Manifest, dotted
from crossfade.spec.suggest import did_you_mean

_MAX_MESSAGE = 240


_crd_validators: dict[tuple[str, str, str, str], Any] = {}


def _crd_validator(crd: CrdVersion) -> Any:
    from jsonschema import Draft4Validator  # type: ignore[import-untyped]

    key = (crd.source, crd.group, crd.version, crd.kind)
    if key not in _crd_validators:
        # openAPIV3Schema is draft-4 flavoured (boolean exclusiveMinimum and all).
        _crd_validators[key] = Draft4Validator(strict_schema(crd.schema))
    return _crd_validators[key]


def check_schema(
    manifest: Manifest, core: CoreSchemas, crds: CrdIndex, covered: set[KeyPath]
) -> list[Finding]:
    """Schema findings for one resource; errors at `covered` paths are reported elsewhere."""
    findings = _check_name(manifest)
    crd = crds.find(manifest.group, manifest.version, manifest.kind)
    if crd is not None:
        findings += _check_crd_version(manifest, crd)
        findings += _run(_crd_validator(crd), manifest.data, manifest, (), covered)
        meta = core.metadata_validator()
        if meta is not None and isinstance(manifest.data.get("metadata"), dict):
            findings += _run(meta, manifest.data["metadata"], manifest, ("metadata",), covered)
        return findings
    others = crds.versions_of(manifest.group, manifest.kind)
    if others:
        served = ", ".join(f"{c.group}/{c.version}" for c in others if c.served)
        return [*findings, _api_version_finding(manifest, served, others[0].source)]
    if _is_kubernetes_group(manifest.group):
        validator = core.validator(manifest.kind, manifest.api_version)
        if validator is not None:
            return findings + _run(validator, manifest.data, manifest, (), covered)
        served = ", ".join(core.served_as(manifest.kind))
        if served:
            return [*findings, _api_version_finding(manifest, served, f"Kubernetes {core.version}")]
    group = manifest.group or manifest.api_version
    return [
        *findings,
        Finding(
            Severity.WARNING,
            "k8s-no-schema",
            manifest.file,
            manifest.line(("kind",)),
            f"{manifest.title}: no schema for {manifest.kind} ({manifest.api_version}), "
            "so its fields are not checked",
            f"pass the CustomResourceDefinition of {group} with --crd-dir",
        ),
    ]


def _is_kubernetes_group(group: str) -> bool:
    return "." not in group or group.endswith(".k8s.io")


def _check_name(manifest: Manifest) -> list[Finding]:
    if manifest.name or manifest.metadata.get("generateName"):
        return []
    return [
        Finding(
            Severity.ERROR,
            "k8s-schema",
            manifest.file,
            manifest.line(("metadata",)),
            f"{manifest.kind}: metadata.name is missing; the API server refuses the resource",
            "add metadata: {name: ...}",
        )
    ]


def _check_crd_version(manifest: Manifest, crd: CrdVersion) -> list[Finding]:
    line = manifest.line(("apiVersion",))
    if not crd.served:
        return [
            Finding(
                Severity.ERROR,
                "k8s-api-version",
                manifest.file,
                line,
                f"{manifest.title}: {manifest.api_version} is not served by the CRD in "
                f"{crd.source}",
                "use a version the CRD serves",
            )
        ]
    if crd.deprecated:
        warning = crd.deprecation_warning or f"{manifest.api_version} is deprecated"
        return [
            Finding(
                Severity.WARNING,
                "k8s-deprecated-version",
                manifest.file,
                line,
                f"{manifest.title}: {warning}",
                "move to the version the CRD stores",
            )
        ]
    return []


def _api_version_finding(manifest: Manifest, served: str, where: str) -> Finding:
    return Finding(
        Severity.ERROR,
        "k8s-api-version",
        manifest.file,
        manifest.line(("apiVersion",)),
        f"{manifest.title}: {where} does not serve {manifest.kind} as {manifest.api_version}",
        f"use apiVersion: {served}" if served else "use a served apiVersion",
    )


def _run(
    validator: Any, instance: Any, manifest: Manifest, base: KeyPath, covered: set[KeyPath]
) -> list[Finding]:
    findings: list[Finding] = []
    for error in validator.iter_errors(instance):
        findings += _convert(error, manifest, base, covered)
    return findings


def _convert(error: Any, manifest: Manifest, base: KeyPath, covered: set[KeyPath]) -> list[Finding]:
    from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

    path: KeyPath = (*base, *error.absolute_path)
    if error.validator in ("anyOf", "oneOf") and error.context:
        return _convert(best_match(error.context), manifest, base, covered)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return _unknown_fields(error, manifest, path, covered)
    if path in covered:
        return []
    message = error.message
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    where = dotted(path) or "top level"
    return [
        Finding(
            Severity.ERROR,
            "k8s-schema",
            manifest.file,
            manifest.line(path),
            f"{manifest.title}: {where}: {message}",
            _hint(error),
        )
    ]


def _unknown_fields(
    error: Any, manifest: Manifest, path: KeyPath, covered: set[KeyPath]
) -> list[Finding]:
    known: Iterable[str] = error.schema.get("properties", {})
    patterns = list(error.schema.get("patternProperties", {}))
    findings = []
    for key in error.instance:
        if key in known or any(re.search(p, key) for p in patterns) or (*path, key) in covered:
            continue
        findings.append(
            Finding(
                Severity.ERROR,
                "k8s-unknown-field",
                manifest.file,
                manifest.line((*path, key)),
                f"{manifest.title}: unknown field '{key}' in {dotted(path) or 'the top level'}; "
                "Kubernetes drops it (or kubectl --validate=strict rejects it)",
                did_you_mean(key, known) or f"remove '{key}'",
            )
        )
    return findings


def _hint(error: Any) -> str | None:
    if error.validator == "required":
        return "add the missing field"
    if error.validator == "enum":
        return "use one of: " + ", ".join(str(v) for v in error.validator_value if v is not None)
    if error.validator == "type":
        return f"give a value of type {error.validator_value}"
    return None
