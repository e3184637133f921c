"""The traffic split: Istio (weights, retries, outlier detection, failover) and HTTPRoute."""

from __future__ import annotations

from typing import Any

from crossfade.render.k8s.manifests import render_notes
from crossfade.spec import load_spec
from tests.render.k8s.support import SPEC_8B, SPEC_70B, named, objects, of_kind, spec_with

NAME = "llama-3-8b-instruct"
HOST = f"{NAME}.llm.svc.cluster.local"


def pod_labels(manifests: list[dict[str, Any]], backend: str) -> dict[str, str]:
    deployment = named(manifests, "Deployment", f"{NAME}-{backend}")
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def test_virtual_service_splits_by_the_spec_weights() -> None:
    spec = load_spec(SPEC_8B)
    assert spec.kubernetes is not None
    assert spec.kubernetes.traffic is not None
    service = named(objects(spec), "VirtualService", NAME)
    assert service["spec"]["hosts"] == [HOST]
    assert "gateways" not in service["spec"]  # mesh only
    (route,) = service["spec"]["http"]
    weights = {d["destination"]["subset"]: d["weight"] for d in route["route"]}
    assert weights == {"tensorrtllm": 90, "vllm": 10}
    assert {d["destination"]["host"] for d in route["route"]} == {HOST}
    assert route["timeout"] == "600s"
    assert route["retries"] == {
        "attempts": 2,
        "retryOn": "connect-failure,refused-stream,unavailable",
    }


def test_destination_rule_fails_tensorrtllm_over_to_vllm() -> None:
    manifests = objects(load_spec(SPEC_8B))
    rule = named(manifests, "DestinationRule", NAME)
    assert rule["spec"]["host"] == named(manifests, "VirtualService", NAME)["spec"]["hosts"][0]
    subsets = {s["name"]: s for s in rule["spec"]["subsets"]}
    trt, vllm = pod_labels(manifests, "tensorrtllm"), pod_labels(manifests, "vllm")
    # The primary subset holds both backends' pods, TensorRT-LLM ones ranked first.
    assert selects(subsets["tensorrtllm"]["labels"], trt)
    assert selects(subsets["tensorrtllm"]["labels"], vllm)
    policy = subsets["tensorrtllm"]["trafficPolicy"]
    locality = policy["loadBalancer"]["localityLbSetting"]
    assert locality == {"enabled": True, "failoverPriority": ["backend=tensorrtllm"]}
    key, value = locality["failoverPriority"][0].split("=")
    assert trt[key] == value != vllm[key]
    assert policy["outlierDetection"]["consecutive5xxErrors"] == 5  # failover needs it
    assert rule["spec"]["trafficPolicy"]["outlierDetection"] == policy["outlierDetection"]
    assert selects(subsets["vllm"]["labels"], vllm)
    assert not selects(subsets["vllm"]["labels"], trt)
    shared = named(manifests, "Service", NAME)["spec"]["selector"]
    assert selects(shared, trt)
    assert selects(shared, vllm)


def test_without_failover_or_retries() -> None:
    def change(data: dict[str, Any]) -> None:
        data["kubernetes"]["traffic"] |= {"failover": False, "retries": {"attempts": 0}}
        data["kubernetes"]["traffic"]["gateway"] = {"name": "public", "namespace": "edge"}

    manifests = objects(spec_with(change))
    rule = named(manifests, "DestinationRule", NAME)
    primary = rule["spec"]["subsets"][0]
    assert "trafficPolicy" not in primary
    assert not selects(primary["labels"], pod_labels(manifests, "vllm"))
    service = named(manifests, "VirtualService", NAME)
    assert service["spec"]["http"][0]["retries"] == {"attempts": 0}  # Istio's default is 2
    assert service["spec"]["gateways"] == ["edge/public", "mesh"]


def test_http_route_standard_has_timeouts_but_no_retry() -> None:
    spec = load_spec(SPEC_70B)
    manifests = objects(spec, "standard")
    assert not of_kind(manifests, "VirtualService")
    (route,) = of_kind(manifests, "HTTPRoute")
    assert route["spec"]["parentRefs"] == [{"name": "inference-gateway", "namespace": "gateway"}]
    assert route["spec"]["hostnames"] == ["llm.example.com"]
    (rule,) = route["spec"]["rules"]
    refs = {ref["name"]: ref for ref in rule["backendRefs"]}
    assert {name: ref["weight"] for name, ref in refs.items()} == {
        "llama-3-70b-tensorrtllm": 50,
        "llama-3-70b-vllm": 50,
    }
    services = {s["metadata"]["name"]: s for s in of_kind(manifests, "Service")}
    for name, ref in refs.items():
        assert ref["port"] in [p["port"] for p in services[name]["spec"]["ports"]]
    assert rule["timeouts"] == {"request": "900s", "backendRequest": "600s"}
    assert "retry" not in rule


def test_http_route_experimental_adds_retry_and_nothing_else() -> None:
    spec = load_spec(SPEC_70B)
    standard = named(objects(spec, "standard"), "HTTPRoute", "llama-3-70b")
    experimental = named(objects(spec, "experimental"), "HTTPRoute", "llama-3-70b")
    retry = experimental["spec"]["rules"][0].pop("retry")
    assert retry == {"codes": [503], "attempts": 1}
    assert experimental == standard
    others = [m for m in objects(spec, "experimental") if m["kind"] != "HTTPRoute"]
    assert others == [m for m in objects(spec, "standard") if m["kind"] != "HTTPRoute"]


def test_notes_say_what_the_split_cannot_do() -> None:
    notes = render_notes(load_spec(SPEC_70B), "standard")
    assert any("vllm_model" in note for note in notes)
    assert any("failover is not rendered" in note for note in notes)
    assert any("retries are not rendered" in note for note in notes)
    assert not any("retries" in note for note in render_notes(load_spec(SPEC_70B), "experimental"))

    def same_model_name(data: dict[str, Any]) -> None:
        data["vllm"]["triton_model_name"] = "ensemble"

    assert render_notes(spec_with(same_model_name), "standard") == []
