"""Target URLs: which server, which protocol, which model; and the client that speaks to it.

    triton-vllm://HOST:PORT/MODEL            Triton HTTP generate, vLLM backend
    triton-trtllm://HOST:PORT/MODEL          Triton HTTP generate, TensorRT-LLM ensemble or BLS
    triton-grpc-vllm://HOST:PORT/MODEL       Triton gRPC streaming, vLLM backend
    triton-grpc-trtllm://HOST:PORT/MODEL     Triton gRPC streaming, TensorRT-LLM ensemble or BLS
    openai://HOST:PORT/v1?model=NAME         OpenAI-compatible /completions
    openai-chat://HOST:PORT/v1?model=NAME    OpenAI-compatible /chat/completions

A missing port means Triton's default (8000 HTTP, 8001 gRPC) or 8000 for OpenAI servers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from crossfade.bench.protocol import Client
from crossfade.errors import UsageError

Transport = Literal["triton-http", "triton-grpc", "openai"]
Dialect = Literal["vllm", "trtllm", "completions", "chat"]

# scheme -> (transport, dialect, default port)
SCHEMES: dict[str, tuple[Transport, Dialect, int]] = {
    "triton-vllm": ("triton-http", "vllm", 8000),
    "triton-trtllm": ("triton-http", "trtllm", 8000),
    "triton-grpc-vllm": ("triton-grpc", "vllm", 8001),
    "triton-grpc-trtllm": ("triton-grpc", "trtllm", 8001),
    "openai": ("openai", "completions", 8000),
    "openai-chat": ("openai", "chat", 8000),
}
ACCEPTED_FORMS = (
    "triton-vllm://HOST:PORT/MODEL",
    "triton-trtllm://HOST:PORT/MODEL  (ensemble or tensorrt_llm_bls)",
    "triton-grpc-vllm://HOST:PORT/MODEL",
    "triton-grpc-trtllm://HOST:PORT/MODEL",
    "openai://HOST:PORT/v1?model=NAME  (completions)",
    "openai-chat://HOST:PORT/v1?model=NAME",
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
        return SCHEMES[self.scheme][0]

    @property
    def dialect(self) -> Dialect:
        return SCHEMES[self.scheme][1]

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
    transport, _, default_port = SCHEMES[scheme]
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


def make_client(
    spec: TargetSpec, *, concurrency: int = 0, request_timeout_s: float | None = None
) -> Client:
    """A client for `spec`: `concurrency` sizes its connection pool (0: unbounded), and
    `request_timeout_s` is each request's deadline (None: none)."""
    # Imported here: each client pulls in its own transport library (grpc is slow to import).
    if spec.transport == "triton-http":
        from crossfade.bench.clients.triton_http import TritonHttpClient

        return TritonHttpClient(spec, concurrency=concurrency, request_timeout_s=request_timeout_s)
    if spec.transport == "triton-grpc":
        from crossfade.bench.clients.triton_grpc import TritonGrpcClient

        return TritonGrpcClient(spec, request_timeout_s=request_timeout_s)
    from crossfade.bench.clients.openai import OpenAIClient

    return OpenAIClient(spec, concurrency=concurrency, request_timeout_s=request_timeout_s)
