"""Target URLs: every accepted form, defaults, canonical names, and rejections that say why."""

from __future__ import annotations

import asyncio

import pytest

from crossfade.bench.clients import make_client
from crossfade.bench.clients.openai import OpenAIClient
from crossfade.bench.clients.triton_grpc import TritonGrpcClient
from crossfade.bench.clients.triton_http import TritonHttpClient
from crossfade.bench.targets import ACCEPTED_FORMS, TargetSpec, length_notice, parse_target
from crossfade.errors import UsageError


@pytest.mark.parametrize(
    ("url", "transport", "dialect", "model"),
    [
        ("triton-vllm://127.0.0.1:18000/vllm_model", "triton-http", "vllm", "vllm_model"),
        ("triton-trtllm://127.0.0.1:18000/ensemble", "triton-http", "trtllm", "ensemble"),
        ("triton-trtllm://h:1/tensorrt_llm_bls", "triton-http", "trtllm", "tensorrt_llm_bls"),
        ("triton-grpc-vllm://127.0.0.1:18001/vllm_model", "triton-grpc", "vllm", "vllm_model"),
        ("triton-grpc-trtllm://127.0.0.1:18001/ensemble", "triton-grpc", "trtllm", "ensemble"),
        ("triton-llmapi://h:18000/tensorrt_llm", "triton-http", "llmapi", "tensorrt_llm"),
        ("triton-grpc-llmapi://h:18001/tensorrt_llm", "triton-grpc", "llmapi", "tensorrt_llm"),
        ("openai://127.0.0.1:18100/v1?model=tiny-llama", "openai", "completions", "tiny-llama"),
        ("openai-chat://127.0.0.1:18100/v1?model=tiny-llama", "openai", "chat", "tiny-llama"),
    ],
)
def test_accepted_forms(url: str, transport: str, dialect: str, model: str) -> None:
    spec = parse_target(url)
    assert (spec.transport, spec.dialect.name, spec.model) == (transport, dialect, model)
    assert spec.url == url  # already canonical
    assert spec.name == url


def test_fields_and_openai_base_path() -> None:
    spec = parse_target("openai://localhost:9000/v1/?model=org/model-7b")
    assert spec == TargetSpec(
        "openai", "localhost", 9000, "org/model-7b", spec.url, base_path="/v1"
    )
    assert spec.url == "openai://localhost:9000/v1?model=org/model-7b"
    assert parse_target("openai://h:1?model=m").base_path == ""


def test_default_ports_and_canonical_name() -> None:
    assert parse_target("triton-vllm://h/m").port == 8000
    assert parse_target("triton-grpc-vllm://h/m").port == 8001
    assert parse_target("triton-llmapi://h/tensorrt_llm").port == 8000
    assert parse_target("triton-grpc-llmapi://h/tensorrt_llm").port == 8001
    assert parse_target("openai-chat://h/v1?model=m").port == 8000
    spec = parse_target("TRITON-VLLM://h/m/")
    assert spec.url == "triton-vllm://h:8000/m"
    assert spec.name == spec.url


def test_given_name_and_ipv6() -> None:
    spec = parse_target("triton-grpc-trtllm://[::1]:8001/ensemble", name="baseline")
    assert (spec.host, spec.address, spec.name) == ("::1", "[::1]:8001", "baseline")
    assert spec.url == "triton-grpc-trtllm://[::1]:8001/ensemble"


def test_spec_is_frozen() -> None:
    spec = parse_target("triton-vllm://h:1/m")
    with pytest.raises(AttributeError):
        spec.model = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8000/m", "unknown scheme 'http'"),
        ("127.0.0.1:8000/m", "no scheme"),
        ("/just/a/path", "no scheme"),
        ("triton-vllm:///m", "no host"),
        ("triton-vllm://h:1", "exactly the model name"),
        ("triton-vllm://h:1/m/2", "exactly the model name"),
        ("triton-vllm://h:1/m?x=1", "no query string"),
        ("triton-vllm://h:port/m", "Port could not be cast"),
        ("triton-vllm://h:99999/m", "out of range"),
        ("triton-vllm://user:pw@h:1/m", "credentials"),
        ("triton-vllm://h:1/m#frag", "'#'"),
        ("openai://h:1/v1", "?model=NAME"),
        ("openai://h:1/v1?model=", "?model=NAME"),
        ("openai://h:1/v1?model=a&model=b", "?model=NAME"),
        ("openai://h:1/v1?model=a&temperature=0", "unknown query parameter 'temperature'"),
    ],
)
def test_bad_urls_name_the_url_and_list_the_forms(url: str, why: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_target(url)
    message = str(caught.value)
    assert repr(url) in message
    assert why in message
    for form in ACCEPTED_FORMS:
        assert form in message


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("triton-vllm://127.0.0.1:1/m", TritonHttpClient),
        ("triton-trtllm://127.0.0.1:1/ensemble", TritonHttpClient),
        ("triton-grpc-vllm://127.0.0.1:1/m", TritonGrpcClient),
        ("triton-grpc-trtllm://127.0.0.1:1/ensemble", TritonGrpcClient),
        ("openai://127.0.0.1:1/v1?model=m", OpenAIClient),
        ("openai-chat://127.0.0.1:1/v1?model=m", OpenAIClient),
    ],
)
def test_make_client_picks_the_protocol(url: str, kind: type) -> None:
    client = make_client(parse_target(url), concurrency=8, request_timeout_s=5.0)
    assert isinstance(client, kind)

    async def lifecycle() -> None:  # start and close without any server: nothing is sent
        await client.start()
        await client.close()

    asyncio.run(lifecycle())


def test_only_a_target_that_cannot_force_lengths_gets_the_notice() -> None:
    for url in ("triton-vllm://h/m", "triton-trtllm://h/ensemble", "openai://h/v1?model=m"):
        assert length_notice(parse_target(url)) is None
    notice = length_notice(parse_target("triton-grpc-llmapi://h/tensorrt_llm", name="llmapi"))
    assert notice is not None
    assert notice.startswith("llmapi cannot be asked for an exact output length")
    assert "counted with the workload's tokenizer after the run" in notice
