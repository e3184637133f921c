"""Property-based fuzzing of the router's request front and its translation: every body a client
can send gets a canonical request or a 4xx error the router would answer with, never another
exception; every canonical request becomes valid JSON for each backend's dialect and an answer
in the client's own API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from crossfade.bench.dialects.base import ServerTimes
from crossfade.bench.targets import parse_target
from crossfade.rollout.router.front import (
    CanonicalRequest,
    FrontError,
    parse_openai,
    parse_triton,
    read_json,
)
from crossfade.rollout.router.front_llmapi import parse_llmapi
from crossfade.rollout.router.replies import reply_for
from crossfade.rollout.router.upstream import Upstream
from tests.support.fuzz import fuzz
from tests.support.router_inputs import BODIES, raw_bodies

TARGETS = (
    "triton-vllm://127.0.0.1:1/vllm_model",
    "triton-trtllm://127.0.0.1:1/ensemble",
    "openai://127.0.0.1:1/v1?model=m",
    "openai-chat://127.0.0.1:1/v1?model=m",
    "triton-llmapi://127.0.0.1:1/tensorrt_llm",
)
UPSTREAMS = [Upstream(parse_target(url)) for url in TARGETS]


def front(raw: bytes, api: str, stream: bool) -> CanonicalRequest | FrontError:
    """What the router makes of a body sent to `api`: as `Router._handle` does."""
    try:
        body = read_json(raw)
        if api == "triton":  # /generate_stream (stream) or /generate
            return parse_triton(body, "m", stream=stream)
        if api == "llmapi":  # a model name the config maps to the LLM API model
            return parse_llmapi(body, "tensorrt_llm", stream=stream)
        return parse_openai(body, "chat" if api == "chat" else "completions")
    except FrontError as exc:
        return exc


def check_translations(request: CanonicalRequest) -> None:
    """Each backend's payload is strict JSON; the client's answer shapes encode."""
    for upstream in UPSTREAMS:
        if upstream.refusal(request) is not None:  # the router answers 400 (may_refuse)
            assert not upstream.may_refuse().isdisjoint(request.sampling)
            continue
        payload = json.loads(upstream.payload(request), parse_constant=_no_constant)
        assert isinstance(payload, dict)
    reply, times = reply_for(request), ServerTimes(1, 2, 3, 4)
    json.dumps(reply.whole("text", 1, 3, times), allow_nan=False)
    pieces = (reply.event("t", 1, 1, 3, times), reply.finish(1, 3, times))
    for piece in (*pieces, reply.error_event("e", 502)):
        for line in piece.split(b"\n"):
            if line.startswith(b"data: {"):
                json.loads(line[6:], parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise AssertionError(f"{name} is not JSON: a backend would refuse it")


def judge(raw: bytes, api: str, stream: bool) -> None:
    outcome = front(raw, api, stream)
    if isinstance(outcome, FrontError):
        event("a client error")
        assert 400 <= outcome.status < 500, outcome
        assert 0 < len(str(outcome)) <= 1000, "an error message is short"
        return
    event("a canonical request")
    assert outcome.max_tokens >= 1
    check_translations(outcome)


@pytest.mark.parametrize("api", BODIES)
@fuzz(250)
@given(data=st.data(), stream=st.booleans())
def test_structured_bodies_get_a_request_or_a_client_error(
    api: str, data: st.DataObject, stream: bool
) -> None:
    judge(json.dumps(data.draw(BODIES[api])).encode(), api, stream)


@pytest.mark.parametrize("api", BODIES)
@fuzz(150)
@given(data=st.data(), stream=st.booleans())
def test_raw_bodies_get_a_request_or_a_client_error(
    api: str, data: st.DataObject, stream: bool
) -> None:
    judge(data.draw(raw_bodies(BODIES[api])), api, stream)
