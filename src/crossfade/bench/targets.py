"""Target URLs: which server, which transport, which dialect, which model. The router's config,
the CLI and sweeps parse them here; clients are made in `crossfade.bench.clients`
(`make_client`), which imports this module, never the other way.

    triton-vllm://HOST:PORT/MODEL            Triton HTTP generate, vLLM backend
    triton-trtllm://HOST:PORT/MODEL          Triton HTTP generate, TensorRT-LLM ensemble or BLS
    triton-grpc-vllm://HOST:PORT/MODEL       Triton gRPC streaming, vLLM backend
    triton-grpc-trtllm://HOST:PORT/MODEL     Triton gRPC streaming, TensorRT-LLM ensemble or BLS
    triton-llmapi://HOST:PORT/MODEL          Triton HTTP generate, TensorRT-LLM's LLM API model
    triton-grpc-llmapi://HOST:PORT/MODEL     Triton gRPC streaming, TensorRT-LLM's LLM API model
    openai://HOST:PORT/v1?model=NAME         OpenAI-compatible /completions
    openai-chat://HOST:PORT/v1?model=NAME    OpenAI-compatible /chat/completions
    trtllm-serve://HOST:PORT/v1?model=NAME   TensorRT-LLM's trtllm-serve, /completions

A missing port means Triton's default (8000 HTTP, 8001 gRPC) or 8000 for OpenAI servers.
The LLM API model (`tensorrt_llm`) cannot be asked for an exact output length: `length_notice`
says so before a run, and its lengths are counted instead (`bench.lengths`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from crossfade.bench.dialects.base import Dialect, Engine
from crossfade.bench.dialects.openai import OpenAIChat, OpenAICompletions
from crossfade.bench.dialects.triton_llmapi import TritonLlmApi
from crossfade.bench.dialects.triton_trtllm import TritonTrtllm
from crossfade.bench.dialects.triton_vllm import TritonVllm
from crossfade.errors import UsageError

Transport = Literal["triton-http", "triton-grpc", "openai"]


@dataclass(frozen=True, slots=True)
class Scheme:
    transport: Transport
    dialect: type[Dialect]
    default_port: int
    engine: Engine | None = None  # the engine the URL names, for an API that does not say
    metrics_path: str = "/metrics"  # an OpenAI server's Prometheus text, on its own port


SCHEMES: dict[str, Scheme] = {
    "triton-vllm": Scheme("triton-http", TritonVllm, 8000),
    "triton-trtllm": Scheme("triton-http", TritonTrtllm, 8000),
    "triton-grpc-vllm": Scheme("triton-grpc", TritonVllm, 8001),
    "triton-grpc-trtllm": Scheme("triton-grpc", TritonTrtllm, 8001),
    "triton-llmapi": Scheme("triton-http", TritonLlmApi, 8000),
    "triton-grpc-llmapi": Scheme("triton-grpc", TritonLlmApi, 8001),
    "openai": Scheme("openai", OpenAICompletions, 8000),
    "openai-chat": Scheme("openai", OpenAIChat, 8000),
    "trtllm-serve": Scheme("openai", OpenAICompletions, 8000, "tensorrtllm", "/prometheus/metrics"),
}


def engine_of(url: str) -> Engine | None:
    """The serving engine a target URL names: its scheme's, else its API's; another OpenAI
    server is taken as vLLM. None: not a scheme crossfade knows."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        return None
    known = SCHEMES[scheme]
    return known.engine or known.dialect.engine or "vllm"


ACCEPTED_FORMS = (
    "triton-vllm://HOST:PORT/MODEL",
    "triton-trtllm://HOST:PORT/MODEL  (ensemble or tensorrt_llm_bls)",
    "triton-grpc-vllm://HOST:PORT/MODEL",
    "triton-grpc-trtllm://HOST:PORT/MODEL",
    "triton-llmapi://HOST:PORT/tensorrt_llm  (the LLM API model)",
    "triton-grpc-llmapi://HOST:PORT/tensorrt_llm",
    "openai://HOST:PORT/v1?model=NAME  (completions)",
    "openai-chat://HOST:PORT/v1?model=NAME",
    "trtllm-serve://HOST:PORT/v1?model=NAME  (TensorRT-LLM's OpenAI server)",
)


@dataclass(frozen=True, slots=True)
class TargetSpec:
    scheme: str
    host: str
    port: int
    model: str
    name: str  # how reports label the target; the canonical URL unless given
    base_path: str = ""  # OpenAI servers only: the API prefix, e.g. "/v1"

    @property
    def transport(self) -> Transport:
        return SCHEMES[self.scheme].transport

    @property
    def dialect(self) -> Dialect:
        """How this target's API is spoken, for its model (not yet fitted: `Dialect.opened`)."""
        return SCHEMES[self.scheme].dialect(self.model, self.base_path)

    @property
    def address(self) -> str:
        """host:port, with IPv6 hosts bracketed."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        if self.transport == "openai":
            return f"{self.scheme}://{self.address}{self.base_path}?model={self.model}"
        return f"{self.scheme}://{self.address}/{self.model}"


def length_notice(target: TargetSpec) -> str | None:
    """What a run against `target` must say before it starts when its API cannot force an exact
    output length (None: it can)."""
    dialect = target.dialect
    if dialect.forces_length:
        return None
    counted = (
        "checked against the server's counts"
        if dialect.counts_tokens
        else "counted with the workload's tokenizer after the run"
    )
    return (
        f"{target.name} cannot be asked for an exact output length: each request asks for at "
        f"most its output length, and every response's real length is {counted} (per-token "
        "figures use it; a difference is reported, not failed)"
    )


def _bad(url: str, why: str) -> UsageError:
    forms = "\n  ".join(ACCEPTED_FORMS)
    return UsageError(f"bad target URL {url!r}: {why}; accepted forms:\n  {forms}")


def parse_target(url: str, name: str | None = None) -> TargetSpec:
    """Parse a target URL; raises UsageError naming the URL and listing the accepted forms."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise _bad(url, str(exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise _bad(url, f"unknown scheme {parts.scheme!r}" if scheme else "no scheme")
    transport, default_port = SCHEMES[scheme].transport, SCHEMES[scheme].default_port
    host = parts.hostname
    if not host:
        raise _bad(url, "no host")
    if parts.username or parts.password:
        raise _bad(url, "credentials in target URLs are not supported")
    if parts.fragment:
        raise _bad(url, "unexpected '#' part")
    path = parts.path.rstrip("/")
    if transport == "openai":
        query = parse_qs(parts.query, keep_blank_values=True)
        models = query.pop("model", [])
        if len(models) != 1 or not models[0]:
            raise _bad(url, "give the model once, as ?model=NAME")
        if query:
            raise _bad(url, f"unknown query parameter {sorted(query)[0]!r}")
        model, base_path = models[0], path
    else:
        if parts.query:
            raise _bad(url, "Triton targets take no query string")
        model = path.lstrip("/")
        if not model or "/" in model:
            raise _bad(url, "the path must be exactly the model name, as /MODEL")
        base_path = ""
    spec = TargetSpec(scheme, host, port or default_port, model, "", base_path)
    return replace(spec, name=name or spec.url)
