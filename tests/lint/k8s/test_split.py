"""A split whose backends serve no model in common is an error of `crossfade lint`.

The manifests are rendered with all traffic on one backend (which `render k8s` accepts) and the
weights then edited by hand, as a user shifting traffic would. No CRDs are needed: the check
reads the route, the Services, the pods and the ConfigMaps they mount.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crossfade.findings import Finding
from crossfade.render.k8s.manifests import render_k8s
from tests.render.k8s.support import SPEC_8B, SPEC_70B, layout_spec
from tests.support.k8s_lint import lint
from tests.support.layouts import Layout
from tests.support.planting import line_of, plant


def render_one_sided(
    out: Path, spec_path: Path, vllm_model: str, layout: Layout = "engine"
) -> None:
    def change(data: dict[str, Any]) -> None:
        data["vllm"]["triton_model_name"] = vllm_model
        data["kubernetes"]["traffic"] |= {
            "weights": {"tensorrtllm": 100, "vllm": 0},
            "failover": False,
        }

    render_k8s(layout_spec(layout, change, spec_path), "spec.yaml").write(out)


def splits(out: Path) -> list[Finding]:
    return [f for f in lint(out, crds=()) if f.code == "k8s-split-models"]


def test_an_http_route_split_between_different_models(tmp_path: Path) -> None:
    render_one_sided(tmp_path, SPEC_70B, "vllm_model")
    assert splits(tmp_path) == []  # every request goes to TensorRT-LLM
    route = tmp_path / "httproute.yaml"
    plant(route, "weight: 100", "weight: 50")
    plant(route, "weight: 0", "weight: 50")
    (finding,) = splits(tmp_path)
    assert (finding.severity, finding.file) == ("error", str(route))
    assert finding.line == line_of(route, "backendRefs:")
    assert finding.message.startswith(
        "HTTPRoute llama-3-70b: spec.rules[0].backendRefs sends requests to pods that serve no "
        "model in common (Deployment llama-3-70b-tensorrtllm serves ensemble, postprocessing, "
        "preprocessing, tensorrt_llm, tensorrt_llm_bls; Deployment llama-3-70b-vllm serves "
        "vllm_model)"
    )
    assert "vllm.triton_model_name: ensemble" in str(finding.hint)
    assert "crossfade route" in str(finding.hint)


def test_the_same_split_of_one_model_name_is_fine(tmp_path: Path) -> None:
    render_one_sided(tmp_path, SPEC_70B, "ensemble")
    route = tmp_path / "httproute.yaml"
    plant(route, "weight: 100", "weight: 50")
    plant(route, "weight: 0", "weight: 50")
    assert splits(tmp_path) == []


def test_an_istio_split_between_different_models(tmp_path: Path) -> None:
    render_one_sided(tmp_path, SPEC_8B, "vllm_model")
    assert splits(tmp_path) == []
    service = tmp_path / "virtualservice.yaml"
    plant(service, "weight: 100", "weight: 90")
    plant(service, "weight: 0", "weight: 10")
    (finding,) = splits(tmp_path)
    assert finding.file == str(service)
    assert finding.message.startswith("VirtualService llama-3-8b-instruct: spec.http[0].route ")


def test_pods_whose_models_the_manifests_do_not_say_are_left_alone(manifests: Path) -> None:
    # The fixture set splits 90/10 between two OpenAI fronts on model repositories it does not
    # ship: nothing tells which models they serve.
    assert splits(manifests) == []


def test_an_istio_subset_holding_both_backends_pods(tmp_path: Path) -> None:
    # What failover renders: the tensorrtllm subset selects every serving pod.
    render_one_sided(tmp_path, SPEC_8B, "vllm_model")
    rule = tmp_path / "destinationrule.yaml"
    plant(rule, "      backend: tensorrtllm\n", "")
    (finding,) = splits(tmp_path)
    assert finding.file == str(tmp_path / "virtualservice.yaml")


def split_evenly(out: Path) -> list[Finding]:
    route = out / "httproute.yaml"
    plant(route, "weight: 100", "weight: 50")
    plant(route, "weight: 0", "weight: 50")
    return splits(out)


def test_one_name_on_models_that_take_different_requests(tmp_path: Path) -> None:
    # Before: both sides serve 'tensorrt_llm', and the split passed.
    render_one_sided(tmp_path, SPEC_70B, "tensorrt_llm", "llmapi")
    assert splits(tmp_path) == []
    (finding,) = split_evenly(tmp_path)
    assert finding.message == (
        "HTTPRoute llama-3-70b: spec.rules[0].backendRefs sends requests to pods that serve "
        "'tensorrt_llm' as models that take different requests (Deployment "
        "llama-3-70b-tensorrtllm takes the LLM API model's request (text_input, streaming, "
        "sampling_param_*); Deployment llama-3-70b-vllm takes vLLM's request (text_input, "
        "stream, sampling parameters)), so a request written for one side fails on the other"
    )
    assert str(finding.hint).startswith("send all traffic to one backend")
    assert "vllm.triton_model_name" not in str(finding.hint)


def test_the_legacy_engine_model_is_not_a_text_model(tmp_path: Path) -> None:
    # The ensemble's repository serves a 'tensorrt_llm' too: the engine, which takes token ids.
    render_one_sided(tmp_path, SPEC_70B, "tensorrt_llm")
    (finding,) = split_evenly(tmp_path)
    assert "takes token ids (input_ids: the engine model itself)" in finding.message
    assert "vllm.triton_model_name: ensemble" in str(finding.hint)


def test_the_llmapi_model_and_vllm_share_no_name_either(tmp_path: Path) -> None:
    render_one_sided(tmp_path, SPEC_70B, "ensemble", "llmapi")
    (finding,) = split_evenly(tmp_path)
    assert "serve no model in common (Deployment llama-3-70b-tensorrtllm serves tensorrt_llm;" in (
        finding.message
    )
    assert str(finding.hint).startswith("send all traffic to one backend")
