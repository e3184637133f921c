"""Every rendered object passes the API server's schema, strictly (unknown keys are errors)."""

from __future__ import annotations

import pytest

from crossfade.render.k8s.traffic import Channel
from crossfade.spec import load_spec
from tests.render.k8s.support import (
    SPEC_8B,
    SPEC_70B,
    named,
    objects,
    schema_errors,
    spec_with,
)
from tests.support.paths import EXAMPLES

# Prometheus Operator kinds: no schema here to check them against (structure: test_workloads).
UNCHECKED_KINDS = {"PodMonitor", "ServiceMonitor"}


@pytest.mark.parametrize("channel", ["standard", "experimental"])
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_object_validates(path: object, channel: Channel) -> None:
    manifests = objects(load_spec(path), channel)  # type: ignore[arg-type]
    checked = [m for m in manifests if m["kind"] not in UNCHECKED_KINDS]
    assert {m["kind"] for m in checked} >= {"ConfigMap", "Deployment", "Service", "Job"}
    for manifest in checked:
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        assert schema_errors(manifest, channel) == [], where


def test_both_routers_are_covered_by_the_examples() -> None:
    kinds = {m["kind"] for path in EXAMPLES for m in objects(load_spec(path))}
    assert {"VirtualService", "DestinationRule", "HTTPRoute"} <= kinds


def test_the_strict_check_catches_a_misspelled_key() -> None:
    manifests = objects(load_spec(SPEC_8B))
    service = named(manifests, "VirtualService", "llama-3-8b-instruct")
    service["spec"]["http"][0]["route"][0]["weigth"] = service["spec"]["http"][0]["route"][0].pop(
        "weight"
    )
    assert any("weigth" in error for error in schema_errors(service))
    deployment = named(manifests, "Deployment", "llama-3-8b-instruct-vllm")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    assert schema_errors(deployment)


def test_retry_is_valid_only_in_the_experimental_channel() -> None:
    experimental = named(objects(load_spec(SPEC_70B), "experimental"), "HTTPRoute", "llama-3-70b")
    assert "retry" in experimental["spec"]["rules"][0]
    assert schema_errors(experimental, "experimental") == []
    assert any("retry" in error for error in schema_errors(experimental, "standard"))


def test_variants_validate_too() -> None:
    """Settings the examples leave at defaults: no failover, no retries, full image refs."""

    def change(data: dict[str, object]) -> None:
        k8s = data["kubernetes"]
        assert isinstance(k8s, dict)
        k8s["traffic"] |= {"failover": False, "retries": {"attempts": 0}}
        k8s["traffic"]["gateway"] = {"name": "public"}
        k8s["traffic"]["hostnames"] = ["llm.example.com"]
        k8s["monitoring"] = {"kind": "ServiceMonitor"}
        k8s["bench"] |= {"active_deadline_s": 3600, "cpu": "4", "memory": "8Gi"}
        del k8s["triton_image"]
        for backend in ("tensorrtllm", "vllm"):
            section = data[backend]
            assert isinstance(section, dict)
            section["image"] = f"registry.example/nvidia/tritonserver:{section['image']}"

    for manifest in objects(spec_with(change)):
        if manifest["kind"] not in UNCHECKED_KINDS:
            assert schema_errors(manifest) == [], manifest["kind"]
