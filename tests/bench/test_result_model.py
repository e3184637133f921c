"""The parts of a result: what a server says about itself becomes a typed description, and an
answer that does not fit is kept as its error, never fails the run that asked."""

from __future__ import annotations

from crossfade.bench.clients import info_header
from crossfade.bench.result_model import (
    OpenAIServerInfo,
    TritonServerInfo,
    environment,
    read_server_info,
)
from crossfade.bench.targets import parse_target

TRITON = parse_target("triton-trtllm://127.0.0.1:8000/ensemble")
OPENAI = parse_target("openai://127.0.0.1:8000/v1?model=m")


def test_a_triton_answer_is_typed() -> None:
    facts = {  # as the Triton clients read them from the model's metadata and config
        "model_versions": ["1"],
        "platform": "ensemble",
        "backend": "",
        "max_batch_size": 0,
        "decoupled": True,
        "parameters": {"crossfade_emulated": "true"},
        "crossfade_emulated": True,
        "ensemble_steps": ["preprocessing"],
    }
    raw = info_header(TRITON) | {"server": "triton", "server_version": "2.51.0"}
    info = read_server_info(raw | facts)
    assert isinstance(info, TritonServerInfo)
    assert (info.protocol, info.dialect, info.model) == ("triton-http", "trtllm", "ensemble")
    assert info.crossfade_emulated is True
    assert info.decoupled is True
    assert info.ensemble_steps == ["preprocessing"]
    assert info.error is None


def test_an_openai_answer_is_typed() -> None:
    raw = info_header(OPENAI) | {"served_models": ["m"], "owned_by": "vllm", "max_model_len": 64}
    info = read_server_info(raw)
    assert isinstance(info, OpenAIServerInfo)
    assert (info.served_models, info.max_model_len) == (["m"], 64)


def test_an_answer_that_does_not_fit_is_kept_as_the_error() -> None:
    info = read_server_info(info_header(OPENAI) | {"served_models": ["m"], "owned_by": 7})
    assert isinstance(info, OpenAIServerInfo)
    assert info.url == OPENAI.url
    assert info.served_models is None  # nothing of an answer that was not understood
    assert info.error is not None
    assert info.error.startswith("the server's description of itself was not understood:")
    assert "owned_by" in info.error


def test_the_environment_is_this_machine() -> None:
    here = environment()
    assert here.cpu_count is None or here.cpu_count >= 1
    assert here.python.count(".") == 2
