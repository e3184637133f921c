"""The correct manifest set lints clean; each planted mistake is reported at its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from crossfade.findings import Severity
from tests.support.engine_folders import make_engine
from tests.support.findings import located
from tests.support.k8s_lint import cluster_crd, lint
from tests.support.planting import line_of, plant


def test_correct_set_lints_clean(manifests: Path) -> None:
    assert lint(manifests) == []


def test_correct_set_lints_clean_with_the_engine_it_was_built_for(
    manifests: Path, tmp_path: Path
) -> None:
    engine = make_engine(tmp_path, tp=2, pp=1)
    assert lint(manifests, engine=engine) == []


def _weight_typo(folder: Path) -> set[tuple[str, str, int | None]]:
    istio = folder / "istio.yaml"
    line = plant(istio, "      weight: 10\n", "      weigth: 10\n")
    # The typo also leaves that destination without a weight.
    return {
        ("k8s-unknown-field", str(istio), line),
        ("k8s-route-weight", str(istio), line - 1),
    }


def _subset_nobody_carries(folder: Path) -> set[tuple[str, str, int | None]]:
    istio = folder / "istio.yaml"
    line = plant(istio, "labels: {backend: vllm}", "labels: {backend: vllm-next}")
    return {("k8s-subset-matches-nothing", str(istio), line)}


def _selector_matching_nothing(folder: Path) -> set[tuple[str, str, int | None]]:
    services = folder / "services.yaml"
    line = plant(
        services, "selector: {app: llm, backend: vllm}", "selector: {app: llm, backend: vlm}"
    )
    return {("k8s-selector-matches-nothing", str(services), line)}


def _unknown_deployment_field(folder: Path) -> set[tuple[str, str, int | None]]:
    deployments = folder / "deployments.yaml"
    line = plant(deployments, "  replicas: 1\n", "  replica: 1\n")
    return {("k8s-unknown-field", str(deployments), line)}


def _probe_port_not_served(folder: Path) -> set[tuple[str, str, int | None]]:
    deployments = folder / "deployments.yaml"
    line = plant(deployments, "tcpSocket: {port: 9000}", "tcpSocket: {port: 9100}")
    return {("k8s-probe-port", str(deployments), line)}


def _weights_not_100(folder: Path) -> set[tuple[str, str, int | None]]:
    istio = folder / "istio.yaml"
    plant(istio, "weight: 90", "weight: 80")
    route = line_of(istio, "route:", line_of(istio, "- name: primary"))
    return {("k8s-weights-sum", str(istio), route)}


def _annotation_disagrees(folder: Path) -> set[tuple[str, str, int | None]]:
    deployments = folder / "deployments.yaml"
    plant(deployments, 'crossfade.io/tp-pp: "2x1"', 'crossfade.io/tp-pp: "4x1"')
    return {("k8s-gpu-count", str(deployments), line_of(deployments, "nvidia.com/gpu: 2"))}


def _unknown_subset(folder: Path) -> set[tuple[str, str, int | None]]:
    istio = folder / "istio.yaml"
    line = plant(istio, "{host: llm, subset: vllm}", "{host: llm, subset: canary}")
    return {("k8s-unknown-subset", str(istio), line)}


def _backend_ref_to_absent_service(folder: Path) -> set[tuple[str, str, int | None]]:
    route = folder / "httproute.yaml"
    line = plant(route, "{name: llm-vllm, kind: Service", "{name: llm-vlm, kind: Service")
    return {("k8s-unknown-service", str(route), line)}


def _named_target_port_absent(folder: Path) -> set[tuple[str, str, int | None]]:
    services = folder / "services.yaml"
    line = plant(services, "targetPort: metrics}", "targetPort: metric}")
    return {("k8s-target-port", str(services), line)}


def _selector_not_matching_template(folder: Path) -> set[tuple[str, str, int | None]]:
    deployments = folder / "deployments.yaml"
    line = plant(
        deployments,
        "matchLabels: {app: llm, backend: vllm}",
        "matchLabels: {app: llm, backend: vllm2}",
    )
    return {("k8s-workload-selector", str(deployments), line)}


def _duplicate_key(folder: Path) -> set[tuple[str, str, int | None]]:
    route = folder / "httproute.yaml"
    line = plant(route, "  - name: split\n", "  - name: split\n    name: split2\n") + 1
    return {("k8s-duplicate-key", str(route), line)}


PLANTED: dict[str, Callable[[Path], set[tuple[str, str, int | None]]]] = {
    "weigth-typo": _weight_typo,
    "subset-nobody-carries": _subset_nobody_carries,
    "selector-matching-nothing": _selector_matching_nothing,
    "unknown-deployment-field": _unknown_deployment_field,
    "probe-port-not-served": _probe_port_not_served,
    "weights-not-100": _weights_not_100,
    "tp-pp-annotation-disagrees": _annotation_disagrees,
    "unknown-subset": _unknown_subset,
    "backend-ref-to-absent-service": _backend_ref_to_absent_service,
    "named-target-port-absent": _named_target_port_absent,
    "selector-not-matching-template": _selector_not_matching_template,
    "duplicate-key": _duplicate_key,
}


@pytest.mark.parametrize("mistake", PLANTED, ids=list(PLANTED))
def test_each_planted_mistake_is_reported_at_its_line(manifests: Path, mistake: str) -> None:
    expected = PLANTED[mistake](manifests)
    # Exactly what was planted: the checks are precise, not noisy.
    assert located(lint(manifests)) == expected


def test_weigth_typo_suggests_the_field(manifests: Path) -> None:
    _weight_typo(manifests)
    typo = next(f for f in lint(manifests) if f.code == "k8s-unknown-field")
    assert typo.severity == Severity.ERROR
    assert "'weigth'" in typo.message
    assert typo.hint == "did you mean 'weight'?"


def test_weights_not_summing_to_100_are_a_warning(manifests: Path) -> None:
    _weights_not_100(manifests)
    (finding,) = lint(manifests)
    assert finding.severity == Severity.WARNING
    assert "sum to 90" in finding.message


def test_gpu_count_disagreeing_with_the_engine(manifests: Path, tmp_path: Path) -> None:
    engine = make_engine(tmp_path, tp=4, pp=1)
    deployments = manifests / "deployments.yaml"
    (finding,) = lint(manifests, engine=engine)
    assert (finding.code, finding.file) == ("k8s-gpu-count", str(deployments))
    assert finding.line == line_of(deployments, "nvidia.com/gpu: 2")
    assert "tp 4 x pp 1 = 4" in finding.message
    assert finding.hint is not None
    assert "nvidia.com/gpu: 4" in finding.hint


def test_a_trtllm_pod_without_gpus_is_reported(manifests: Path) -> None:
    deployments = manifests / "deployments.yaml"
    plant(deployments, "            nvidia.com/gpu: 2\n", "            cpu: 8\n")
    (finding,) = lint(manifests)
    assert finding.code == "k8s-gpu-count"
    assert "gets 0 GPU(s)" in finding.message


def test_retry_on_the_standard_channel(manifests: Path, tmp_path: Path) -> None:
    route = manifests / "httproute.yaml"
    line = plant(route, "    timeouts:", "    retry: {codes: [503], attempts: 2}\n    timeouts:")
    standard = cluster_crd(tmp_path / "standard", "HTTPRoute", "standard")
    findings = lint(manifests, crds=(standard,))
    assert located(findings) == {("k8s-gateway-experimental-field", str(route), line)}
    assert "experimental" in findings[0].message
    assert findings[0].hint is not None
    assert "remove retry" in findings[0].hint
    # The shipped schemas have both channels: standard unless the flag says otherwise.
    assert located(lint(manifests)) == located(findings)
    assert lint(manifests, gateway_channel="experimental") == []
    experimental = cluster_crd(tmp_path / "experimental", "HTTPRoute", "experimental")
    assert lint(manifests, crds=(experimental,)) == []


def test_every_error_of_a_resource_is_reported_at_once(manifests: Path) -> None:
    deployments = manifests / "deployments.yaml"
    first = plant(deployments, "  replicas: 2\n", "  replicas: two\n")
    second = plant(deployments, "periodSeconds: 5", "periodSecond: 5")
    assert located(lint(manifests)) == {
        ("k8s-schema", str(deployments), first),
        ("k8s-unknown-field", str(deployments), second),
    }


BUILD_JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: llm-engine-build, namespace: llm}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: build
        image: registry.example/nvidia/tritonserver:25.01-trtllm-python-py3
        resources:
          limits: {nvidia.com/gpu: 1}
"""


def test_an_engine_build_job_is_not_held_to_tp_times_pp(manifests: Path, tmp_path: Path) -> None:
    (manifests / "build.yaml").write_text(BUILD_JOB, encoding="utf-8")
    assert lint(manifests, engine=make_engine(tmp_path, tp=2)) == []


def test_an_unreadable_tp_pp_annotation(manifests: Path) -> None:
    deployments = manifests / "deployments.yaml"
    line = plant(deployments, 'crossfade.io/tp-pp: "2x1"', 'crossfade.io/tp-pp: "tp2"')
    assert located(lint(manifests)) == {("k8s-tp-pp-annotation", str(deployments), line)}


def test_an_engine_without_a_tensorrt_llm_workload_is_a_warning(
    manifests: Path, tmp_path: Path
) -> None:
    (manifests / "deployments.yaml").unlink()
    engine = make_engine(tmp_path, tp=2)
    findings = [f for f in lint(manifests, engine=engine) if f.code == "k8s-gpu-count"]
    assert [f.severity for f in findings] == [Severity.WARNING]


def test_http_route_weights_that_send_nothing(manifests: Path) -> None:
    route = manifests / "httproute.yaml"
    plant(route, "port: 9000, weight: 90}", "port: 9000, weight: 0}")
    plant(route, "port: 9000, weight: 10}", "port: 9000, weight: 0}")
    backend_refs = line_of(route, "backendRefs:")
    assert located(lint(manifests)) == {("k8s-route-weight", str(route), backend_refs)}


def test_http_route_split_leaning_on_the_default_weight(manifests: Path) -> None:
    route = manifests / "httproute.yaml"
    line = plant(route, "port: 9000, weight: 10}", "port: 9000}")
    findings = lint(manifests)
    assert located(findings) == {("k8s-route-weight", str(route), line)}
    assert findings[0].severity == Severity.WARNING


def test_a_service_backend_ref_without_port(manifests: Path) -> None:
    route = manifests / "httproute.yaml"
    line = plant(route, "{name: llm-trtllm, kind: Service, port: 9000,", "{name: llm-trtllm,")
    assert located(lint(manifests)) == {("k8s-service-port", str(route), line)}
