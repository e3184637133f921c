"""Gateway API channels: fields an HTTPRoute may use only with the experimental-channel CRDs.

The standard-channel CRD prunes these fields, so a route that relies on `retry` silently
loses its retries. The list is the difference between the standard and experimental
HTTPRoute CRDs of gateway-api @ 4564255 (config/crd/{standard,experimental}/).
"""

from __future__ import annotations

from collections.abc import Iterator

from crossfade.findings import Finding, Severity
from crossfade.lint.k8s.load import KeyPath, Manifest, dotted

GATEWAY_GROUP = "gateway.networking.k8s.io"
CHANNELS = ("standard", "experimental")
_RULE_FIELDS = ("retry", "sessionPersistence")
_FILTER_TYPE = "ExternalAuth"


def experimental_fields(manifest: Manifest) -> Iterator[KeyPath]:
    """Paths in an HTTPRoute that exist only in the experimental channel."""
    if (manifest.group, manifest.kind) != (GATEWAY_GROUP, "HTTPRoute"):
        return
    spec = manifest.data.get("spec")
    if not isinstance(spec, dict):
        return
    if "useDefaultGateways" in spec:
        yield ("spec", "useDefaultGateways")
    rules = spec.get("rules")
    for r, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue
        for name in _RULE_FIELDS:
            if name in rule:
                yield ("spec", "rules", r, name)
        yield from _filters(rule.get("filters"), ("spec", "rules", r, "filters"))
        refs = rule.get("backendRefs")
        for b, ref in enumerate(refs if isinstance(refs, list) else []):
            if isinstance(ref, dict):
                path = ("spec", "rules", r, "backendRefs", b, "filters")
                yield from _filters(ref.get("filters"), path)


def _filters(filters: object, path: KeyPath) -> Iterator[KeyPath]:
    for f, item in enumerate(filters if isinstance(filters, list) else []):
        if isinstance(item, dict):
            if "externalAuth" in item:
                yield (*path, f, "externalAuth")
            if item.get("type") == _FILTER_TYPE:
                yield (*path, f, "type")


def check_channel(manifest: Manifest, channel: str | None) -> list[Finding]:
    if channel != "standard":
        return []
    findings = []
    for path in experimental_fields(manifest):
        field = f"type: {_FILTER_TYPE}" if path[-1] == "type" else str(path[-1])
        findings.append(
            Finding(
                Severity.ERROR,
                "k8s-gateway-experimental-field",
                manifest.file,
                manifest.line(path),
                f"{manifest.title}: {dotted(path)} ({field}) exists only in the experimental "
                "Gateway API channel; the standard-channel CRD drops it",
                "install the experimental-channel HTTPRoute CRD (pass it with --crd-dir, or "
                f"--gateway-channel experimental), or remove {field}",
            )
        )
    return findings
