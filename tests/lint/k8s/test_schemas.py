"""Schema validation: which schema a resource meets, and what happens without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.errors import UsageError
from crossfade.findings import Severity
from crossfade.lint.k8s.core import k8s_versions
from crossfade.lint.k8s.crds import strict_schema
from tests.support.findings import located
from tests.support.k8s_lint import lint
from tests.support.planting import line_of, plant

POD_MONITOR = """\
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: triton, namespace: llm}
spec:
  selector: {matchLabels: {app: llm}}
  podMetricsEndpoints: [{port: metrics}]
"""


CERTIFICATE = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: triton, namespace: llm}
spec: {secretName: triton-tls, issuerRef: {name: ca}}
"""


def test_custom_resources_of_a_kind_not_shipped_are_named_in_a_warning(manifests: Path) -> None:
    (manifests / "monitor.yaml").write_text(POD_MONITOR, encoding="utf-8")
    (manifests / "certificate.yaml").write_text(CERTIFICATE, encoding="utf-8")
    findings = lint(manifests)
    # Istio, Gateway API and Prometheus Operator kinds are checked against the shipped schemas.
    assert [(f.code, f.severity) for f in findings] == [("k8s-no-schema", Severity.WARNING)]
    assert findings[0].message.startswith("Certificate triton:")
    assert findings[0].hint is not None
    assert "cert-manager.io" in findings[0].hint
    assert "--crd-dir" in findings[0].hint


def test_the_shipped_pod_monitor_schema_applies(manifests: Path) -> None:
    monitor = manifests / "monitor.yaml"
    monitor.write_text(POD_MONITOR.replace("port: metrics", "prot: metrics"), encoding="utf-8")
    findings = lint(manifests)
    assert located(findings) == {("k8s-unknown-field", str(monitor), 6)}
    assert findings[0].hint == "did you mean 'port'?"


def test_a_core_kind_in_an_api_version_not_served(manifests: Path) -> None:
    deployments = manifests / "deployments.yaml"
    line = plant(deployments, "apiVersion: apps/v1\n", "apiVersion: apps/v1beta2\n")
    findings = lint(manifests)
    assert located(findings) == {("k8s-api-version", str(deployments), line)}
    assert findings[0].hint == "use apiVersion: apps/v1"


def test_a_custom_kind_in_a_version_its_crd_lacks(manifests: Path) -> None:
    route = manifests / "httproute.yaml"
    line = plant(route, "gateway.networking.k8s.io/v1\n", "gateway.networking.k8s.io/v2\n")
    assert located(lint(manifests)) == {("k8s-api-version", str(route), line)}


def test_older_istio_versions_the_crd_serves_are_accepted(manifests: Path) -> None:
    istio = manifests / "istio.yaml"
    plant(istio, "networking.istio.io/v1\n", "networking.istio.io/v1beta1\n")
    assert lint(manifests) == []


def test_custom_resource_metadata_is_checked_too(manifests: Path) -> None:
    istio = manifests / "istio.yaml"
    line = plant(
        istio, "metadata: {name: llm, namespace: llm}", "metadata: {name: llm, nmespace: llm}"
    )
    findings = lint(manifests)
    assert ("k8s-unknown-field", str(istio), line) in located(findings)
    unknown = next(f for f in findings if f.code == "k8s-unknown-field")
    assert unknown.hint == "did you mean 'namespace'?"


def test_a_wrong_type_in_a_custom_resource(manifests: Path) -> None:
    istio = manifests / "istio.yaml"
    line = plant(istio, "weight: 90", "weight: ninety")
    findings = [f for f in lint(manifests) if f.code == "k8s-schema"]
    assert located(findings) == {("k8s-schema", str(istio), line)}
    assert "spec.http[1].route[0].weight" in findings[0].message


def test_a_document_without_kind_and_invalid_yaml(manifests: Path) -> None:
    services = manifests / "services.yaml"
    services.write_text(
        services.read_text(encoding="utf-8") + "---\nmetadata: {name: stray}\n", encoding="utf-8"
    )
    stray = line_of(services, "name: stray")
    broken = manifests / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: [x\n", encoding="utf-8")
    found = located(lint(manifests))
    assert ("k8s-not-a-resource", str(services), stray) in found
    assert any(code == "k8s-yaml-invalid" and file == str(broken) for code, file, _ in found)


def test_missing_name(manifests: Path) -> None:
    route = manifests / "httproute.yaml"
    line = plant(route, "metadata: {name: llm-route, namespace: llm}", "metadata: {namespace: llm}")
    assert located(lint(manifests)) == {("k8s-schema", str(route), line)}


@pytest.mark.parametrize("version", ["1.30", "v1.31.2", None])
def test_kubernetes_versions_at_hand_lint_the_set_clean(manifests: Path, version: str) -> None:
    assert lint(manifests, k8s_version=version) == []


def test_a_kubernetes_version_without_schemas_is_a_usage_error(manifests: Path) -> None:
    newest = k8s_versions()[-1]
    major, minor = newest.split(".")
    with pytest.raises(UsageError, match=f"to {newest}"):
        lint(manifests, k8s_version=f"{major}.{int(minor) + 1}")


def test_strict_schema_closes_objects_and_reads_kubernetes_extensions() -> None:
    from jsonschema import Draft4Validator  # type: ignore[import-untyped]

    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "port": {"x-kubernetes-int-or-string": True},
                    "note": {"type": "string", "nullable": True},
                    "free": {
                        "type": "object",
                        "properties": {"a": {"type": "integer"}},
                        "x-kubernetes-preserve-unknown-fields": True,
                    },
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    }
    validator = Draft4Validator(strict_schema(schema))

    def errors(spec: dict[str, object]) -> list[str]:
        document = {"apiVersion": "x/v1", "kind": "X", "metadata": {}, "spec": spec}
        return [e.message for e in validator.iter_errors(document)]

    assert errors({"port": 80, "note": None, "free": {"a": 1, "b": 2}, "labels": {"k": "v"}}) == []
    assert errors({"port": "http"}) == []
    assert errors({"port": 1.5}) != []
    assert errors({"free": {"a": "one"}}) != []
    assert any("'prot' was unexpected" in e for e in errors({"prot": 80}))
