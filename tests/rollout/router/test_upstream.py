"""What each backend's API cannot carry, learnt from its dialect: the probes ask something of
every portable sampling field, and only the LLM API model lacks inputs for some."""

from __future__ import annotations

import pytest

from crossfade.bench.dialects.base import PORTABLE_SAMPLING
from crossfade.bench.targets import parse_target
from crossfade.rollout.router.front import parse_openai
from crossfade.rollout.router.upstream import SAMPLING_PROBES, Upstream


def test_the_probes_cover_every_portable_sampling_field() -> None:
    assert SAMPLING_PROBES.keys() == PORTABLE_SAMPLING


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("triton-vllm://h:1/vllm_model", set()),
        ("triton-trtllm://h:1/ensemble", set()),
        ("openai://h:1/v1?model=m", set()),
        ("triton-llmapi://h:1/tensorrt_llm", {"min_tokens", "ignore_eos", "repetition_penalty"}),
    ],
)
def test_what_each_backend_may_refuse(url: str, refused: set[str]) -> None:
    upstream = Upstream(parse_target(url))
    assert upstream.may_refuse() == refused
    asking = parse_openai({"prompt": "p", "repetition_penalty": 1.3}, "completions")
    why = upstream.refusal(asking)
    assert (why is not None) == ("repetition_penalty" in refused)
    assert upstream.refusal(parse_openai({"prompt": "p", "top_k": 3}, "completions")) is None
