"""The traffic split: Istio (weights, retries, outlier detection, failover) and HTTPRoute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from crossfade.cli import main
from crossfade.errors import UsageError
from crossfade.render.k8s.manifests import render_k8s, render_notes
from crossfade.spec import load_spec
from tests.render.k8s.support import (
    SPEC_8B,
    SPEC_70B,
    example_data,
    named,
    objects,
    of_kind,
    spec_with,
)

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
    assert any("both backends serve 'ensemble'" in note for note in notes)
    assert any("max_tokens" in note and "sampling_parameters" in note for note in notes)
    assert any("failover is not rendered" in note for note in notes)
    assert any("retries are not rendered" in note for note in notes)
    assert not any("retries" in note for note in render_notes(load_spec(SPEC_70B), "experimental"))

    def one_backend(data: dict[str, Any]) -> None:
        data["kubernetes"]["traffic"] |= {
            "weights": {"tensorrtllm": 100, "vllm": 0},
            "failover": False,
        }

    assert render_notes(spec_with(one_backend), "standard") == []


def named_apart(data: dict[str, Any]) -> None:
    data["vllm"]["triton_model_name"] = "vllm_model"


def test_a_split_no_request_can_use_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # Before: a 50/50 split of /v2/models/ensemble/... and /v2/models/vllm_model/... rendered.
    spec = spec_with(named_apart, SPEC_70B)
    with pytest.raises(UsageError) as caught:
        render_k8s(spec, "spec.yaml")
    message = str(caught.value)
    assert message.startswith("kubernetes.traffic.weights sends requests to both backends (50/50)")
    assert "'vllm_model' (vllm.triton_model_name)" in message
    assert "set vllm.triton_model_name: ensemble" in message
    assert "crossfade route" in message


def test_istio_failover_counts_as_sending_to_both() -> None:
    def all_to_tensorrtllm(data: dict[str, Any]) -> None:
        named_apart(data)
        data["kubernetes"]["traffic"]["weights"] = {"tensorrtllm": 100, "vllm": 0}

    with pytest.raises(UsageError, match=r"^kubernetes.traffic.failover sends tensorrtllm's"):
        render_k8s(spec_with(all_to_tensorrtllm), "spec.yaml")

    def without_failover(data: dict[str, Any]) -> None:
        all_to_tensorrtllm(data)
        data["kubernetes"]["traffic"]["failover"] = False

    service = named(objects(spec_with(without_failover)), "VirtualService", NAME)
    weights = {d["destination"]["subset"]: d["weight"] for d in service["spec"]["http"][0]["route"]}
    assert weights == {"tensorrtllm": 100, "vllm": 0}


def test_the_cli_says_which_field_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    data = example_data(SPEC_70B)
    named_apart(data)
    spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["render", "k8s", str(spec), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crossfade render: kubernetes.traffic.weights sends requests")
    assert not (tmp_path / "out").exists()
