"""The weighted split between the backends: Istio VirtualService + DestinationRule, or a
Gateway API HTTPRoute.

Istio can also fail over: the `tensorrtllm` subset holds every serving pod, and its
`failoverPriority` ranks TensorRT-LLM pods first. Outlier detection ejects failing pods; as
too few TensorRT-LLM pods stay healthy, Envoy moves their share to the vLLM pods (partly once
under about 70% are healthy, wholly when none is). Gateway API has no portable failover, and
its `retry` exists only in the experimental channel.

A split forwards each request unchanged, and Triton's URL names the model
(`/v2/models/NAME/generate`), so a request can land on either backend only when both serve the
same model name and take the same request. With the legacy engine ensemble that is the vLLM
model named `ensemble` (or `tensorrt_llm_bls`): both read `text_input`, and `max_tokens` as a
field of its own. TensorRT-LLM's LLM API model reads `streaming` and `sampling_param_*` inputs
instead, and Triton's vLLM backend passes every field it has no input for to vLLM's
SamplingParams, which refuses those names (triton-inference-server/vllm_backend
src/utils/request.py and vllm_backend_utils.py), so no name makes one request work on both.
Anything else is refused (`check_split`, and `render canary`); crossfade's router, which speaks
each backend's dialect, is the other way to put both behind one address (not yet for the LLM API
model).
"""

from __future__ import annotations

from typing import Any, Literal

from crossfade.errors import UsageError
from crossfade.render.k8s.common import (
    BACKEND_LABEL,
    HTTP_PORT,
    NAME_LABEL,
    Backend,
    Context,
    Manifest,
    app_labels,
    metadata,
    seconds,
    selector_labels,
)
from crossfade.spec.kubernetes import Traffic
from crossfade.spec.tensorrtllm import TensorRTLLMApi

Channel = Literal["standard", "experimental"]
ISTIO_API = "networking.istio.io/v1"
GATEWAY_API = "gateway.networking.k8s.io/v1"
# Failures that happen before any byte of the answer: safe to retry even for streams.
RETRY_ON = "connect-failure,refused-stream,unavailable"
RETRY_CODES = [503]
ROUTE_NAME = "split"
PRIMARY: Backend = "tensorrtllm"
# The TensorRT-LLM repository's entry models: a vLLM model of either name takes its requests.
TRTLLM_ENTRY_MODELS = ("ensemble", "tensorrt_llm_bls")


def traffic_objects(ctx: Context, channel: Channel) -> list[Manifest]:
    traffic = ctx.k8s.traffic
    if traffic is None:
        return []
    check_split(ctx)
    if traffic.router == "istio":
        return [virtual_service(ctx, traffic), destination_rule(ctx, traffic)]
    return [http_route(ctx, traffic, channel)]


def _weights(traffic: Traffic) -> list[tuple[Backend, int]]:
    return [("tensorrtllm", traffic.weights.tensorrtllm), ("vllm", traffic.weights.vllm)]


def virtual_service(ctx: Context, traffic: Traffic) -> Manifest:
    host = ctx.service_host()
    route: dict[str, Any] = {
        "name": ROUTE_NAME,
        "route": [
            {"destination": {"host": host, "subset": backend}, "weight": weight}
            for backend, weight in _weights(traffic)
        ],
        "timeout": seconds(traffic.timeout_s),
    }
    retries = traffic.retries
    if retries.attempts == 0:
        route["retries"] = {"attempts": 0}  # Istio retries twice unless told not to
    else:
        route["retries"] = {"attempts": retries.attempts, "retryOn": RETRY_ON}
        if retries.per_try_timeout_s is not None:
            route["retries"]["perTryTimeout"] = seconds(retries.per_try_timeout_s)
    spec: dict[str, Any] = {"hosts": [host, *traffic.hostnames]}
    if traffic.gateway is not None:
        namespace = traffic.gateway.namespace or ctx.namespace
        spec["gateways"] = [f"{namespace}/{traffic.gateway.name}", "mesh"]
    spec["http"] = [route]
    return {
        "apiVersion": ISTIO_API,
        "kind": "VirtualService",
        "metadata": metadata(ctx, ctx.name, app_labels(ctx)),
        "spec": spec,
    }


def destination_rule(ctx: Context, traffic: Traffic) -> Manifest:
    detection = traffic.outlier_detection
    outlier = {
        "consecutive5xxErrors": detection.consecutive_5xx_errors,
        "interval": seconds(detection.interval_s),
        "baseEjectionTime": seconds(detection.base_ejection_time_s),
        "maxEjectionPercent": detection.max_ejection_percent,
    }
    primary: dict[str, Any] = {"name": PRIMARY}
    if traffic.failover:
        # Every serving pod, TensorRT-LLM ones first: failover needs the vLLM endpoints inside
        # this subset, and outlier detection to notice the TensorRT-LLM ones failing.
        primary["labels"] = {NAME_LABEL: ctx.name}
        primary["trafficPolicy"] = {
            "loadBalancer": {
                "localityLbSetting": {
                    "enabled": True,
                    "failoverPriority": [f"{BACKEND_LABEL}={PRIMARY}"],
                }
            },
            "outlierDetection": outlier,
        }
    else:
        primary["labels"] = selector_labels(ctx, PRIMARY)
    return {
        "apiVersion": ISTIO_API,
        "kind": "DestinationRule",
        "metadata": metadata(ctx, ctx.name, app_labels(ctx)),
        "spec": {
            "host": ctx.service_host(),
            "trafficPolicy": {"outlierDetection": outlier},
            "subsets": [primary, {"name": "vllm", "labels": selector_labels(ctx, "vllm")}],
        },
    }


def http_route(ctx: Context, traffic: Traffic, channel: Channel) -> Manifest:
    rule: dict[str, Any] = {
        "name": ROUTE_NAME,
        "backendRefs": [
            {"name": ctx.object_name(backend), "port": HTTP_PORT, "weight": weight}
            for backend, weight in _weights(traffic)
        ],
    }
    timeouts = {"request": seconds(traffic.timeout_s)}
    if traffic.retries.per_try_timeout_s is not None:
        timeouts["backendRequest"] = seconds(traffic.retries.per_try_timeout_s)
    rule["timeouts"] = timeouts
    if channel == "experimental" and traffic.retries.attempts > 0:
        rule["retry"] = {"codes": RETRY_CODES, "attempts": traffic.retries.attempts}
    return route_manifest(ctx, traffic, rule)


def route_manifest(ctx: Context, traffic: Traffic, rule: dict[str, Any]) -> Manifest:
    """The app's HTTPRoute on the spec's Gateway with one rule (also the canary's route)."""
    gateway = traffic.gateway
    assert gateway is not None  # the spec check requires it for gateway-api
    parent: dict[str, Any] = {"name": gateway.name}
    if gateway.namespace is not None:
        parent["namespace"] = gateway.namespace
    spec: dict[str, Any] = {"parentRefs": [parent]}
    if traffic.hostnames:
        spec["hostnames"] = list(traffic.hostnames)
    spec["rules"] = [rule]
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": metadata(ctx, ctx.name, app_labels(ctx)),
        "spec": spec,
    }


def _mixing(traffic: Traffic) -> str | None:
    """How one client's requests reach both backends' pods, if they do (None: one backend)."""
    weights = traffic.weights
    if weights.tensorrtllm > 0 and weights.vllm > 0:
        return (
            f"kubernetes.traffic.weights sends requests to both backends "
            f"({weights.tensorrtllm}/{weights.vllm})"
        )
    if traffic.router == "istio" and traffic.failover and weights.tensorrtllm > 0:
        return (
            "kubernetes.traffic.failover sends tensorrtllm's requests to the vLLM pods "
            "when TensorRT-LLM pods fail"
        )
    return None


def check_split(ctx: Context) -> None:
    """Refuse a split whose requests cannot be served by both backends it sends them to."""
    traffic = ctx.k8s.traffic
    if traffic is None:
        return
    how = _mixing(traffic)
    one_backend = "weights 100/0 or 0/100" + (
        ", failover: false" if traffic.router == "istio" and traffic.failover else ""
    )
    problem = shared_request_problem(ctx, one_backend)
    if how is not None and problem is not None:
        raise UsageError(f"{how}, but {problem}")


def shared_request_problem(ctx: Context, one_backend: str | None) -> str | None:
    """Why no one request works on both backends' pods, with the fix; None when one does.

    `one_backend` says how to send all traffic to one backend, where that is a fix (a canary
    needs both, so it passes None).
    """
    trt, vllm = ctx.spec.tensorrtllm, ctx.spec.vllm
    if trt is None or vllm is None:
        return None
    alone = f"send all traffic to one backend ({one_backend})" if one_backend else None
    if isinstance(trt, TensorRTLLMApi):
        router = (
            "put crossfade's router in front (crossfade route), which translates each request "
            "for each backend (this model as a triton-llmapi:// backend) and answers each "
            "client in its own shape"
        )
        if alone is None:  # a canary: the router runs it too
            router += ", and run the canary through it (crossfade route CONFIG --plan PLAN)"
        return (
            f"no request works on both: the TensorRT-LLM pods run the LLM API model "
            f"('{trt.triton_model_name}'), which reads the inputs streaming and "
            "sampling_param_max_tokens and ignores other fields, while Triton's vLLM backend "
            "reads stream and hands every other field of a request to vLLM's SamplingParams, "
            "which refuses sampling_param_* names; so a request written for one side fails on "
            "the other, or loses its length and streaming there, whatever the models are "
            f"named. Fix: {f'{alone}; or ' if alone else ''}{router}"
        )
    name = vllm.triton_model_name
    if name in TRTLLM_ENTRY_MODELS:
        return None
    return (
        f"no request works on both: the vLLM pods serve the model as '{name}' "
        "(vllm.triton_model_name), the TensorRT-LLM pods as 'ensemble' or 'tensorrt_llm_bls', "
        f"and the URL names the model (/v2/models/{name}/generate fails on a TensorRT-LLM "
        "pod). Fix: set vllm.triton_model_name: ensemble, so one request works on both; or "
        "put crossfade's router in front (crossfade route), which sends each backend its own "
        f"dialect{'; or ' + alone if alone else ''}"
    )


def traffic_notes(ctx: Context, channel: Channel) -> list[str]:
    """What the rendered split does not do, or needs from the user, in plain sentences."""
    traffic = ctx.k8s.traffic
    trt, vllm = ctx.spec.tensorrtllm, ctx.spec.vllm
    if traffic is None or trt is None or vllm is None:
        return []
    notes = []
    if _mixing(traffic) is not None:
        notes.append(
            f"both backends serve '{vllm.triton_model_name}', so a request may land on either: "
            "give max_tokens as a field of its own (the ensemble requires it; vLLM reads it "
            "as a sampling parameter), and nothing only one backend reads (not vLLM's "
            "sampling_parameters tensor, not TensorRT-LLM's end_id or bad_words)"
        )
    if traffic.router == "gateway-api":
        if traffic.failover:
            notes.append(
                "failover is not rendered: Gateway API has no portable field for it "
                "(use router: istio)"
            )
        if channel == "standard" and traffic.retries.attempts > 0:
            notes.append(
                "retries are not rendered: HTTPRoute retry is experimental-channel only "
                "(--gateway-channel experimental if your cluster has that channel)"
            )
    return notes
