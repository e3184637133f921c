"""Protocol clients, and what they share: `make_client` (a target's client), the rules of
recording below (`bench.tally` applies them to parsed events), and the aiohttp session for
requests off the measured path. The measured HTTP exchange itself is in `exchange` (over
`http1`, driven by `http_api`), gRPC's in `triton_grpc`. Each client speaks its target's
dialect (`bench.dialects`) and never decides anything by the dialect's name.

Recording rules, common to every client:
- `sent_ns` just before the request goes out (the body is encoded before), `first_byte_ns` when
  the response headers (gRPC: the first response) arrive.
- Each read is timestamped first thing, before parsing; every event in that read shares it.
- A chunk is an event that brought output tokens by the server's count; when the server gives
  no counts, an event with text counts as one token.
- `end_ns` is when the client knew the request was complete: the read with the final response
  or `[DONE]`, or the clean end of the body where that is the only end marker.
- Errors: non-2xx -> HTTP_STATUS with the server's text; an in-band `error` -> STREAM_ERROR; no
  connection or a break before any response byte -> CONNECT; a break or a clean end before
  the final response -> TRUNCATED; the deadline -> TIMEOUT; the run cancelling -> CANCELLED.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from crossfade.bench.dialects.base import error_body_text
from crossfade.bench.protocol import Client
from crossfade.bench.targets import TargetSpec


def make_client(
    spec: TargetSpec, *, concurrency: int = 0, request_timeout_s: float | None = None
) -> Client:
    """A client for `spec`, speaking its dialect: `concurrency` sizes its connection pool (0:
    none opened ahead), and `request_timeout_s` is each request's deadline (None: none)."""
    # Imported here: each client pulls in its own transport library (grpc is slow to import).
    if spec.transport == "triton-http":
        from crossfade.bench.clients.triton_http import TritonHttpClient

        return TritonHttpClient(spec, concurrency=concurrency, request_timeout_s=request_timeout_s)
    if spec.transport == "triton-grpc":
        from crossfade.bench.clients.triton_grpc import TritonGrpcClient

        return TritonGrpcClient(spec, request_timeout_s=request_timeout_s)
    from crossfade.bench.clients.openai import OpenAIClient

    return OpenAIClient(spec, concurrency=concurrency, request_timeout_s=request_timeout_s)


def open_session() -> aiohttp.ClientSession:
    """A session for the requests off the measured path (metadata, health): callers bound each
    with their own deadline."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))


def info_header(spec: TargetSpec) -> dict[str, Any]:
    """What every client's `server_info()` starts with: which target, protocol and dialect."""
    return {
        "target": spec.name,
        "url": spec.url,
        "protocol": spec.transport,
        "dialect": spec.dialect.name,
        "model": spec.model,
    }


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    """GET a JSON document; raises RuntimeError with the server's text on a non-2xx answer."""
    async with session.get(url) as response:
        body = await response.read()
        if response.status >= 300:
            raise RuntimeError(f"GET {url}: HTTP {response.status}: {error_body_text(body)}")
        return json.loads(body)


def triton_model_facts(metadata: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """What a report needs from a Triton model's metadata and config (HTTP JSON or gRPC as
    dict)."""
    parameters = {
        key: value.get("string_value")
        for key, value in (config.get("parameters") or {}).items()
        if isinstance(value, Mapping)
    }
    facts: dict[str, Any] = {
        "model_versions": list(metadata.get("versions") or []),
        "platform": config.get("platform") or metadata.get("platform") or "",
        "backend": config.get("backend") or "",
        "max_batch_size": int(config.get("max_batch_size") or 0),
        "decoupled": bool((config.get("model_transaction_policy") or {}).get("decoupled")),
        "parameters": parameters,
        "crossfade_emulated": str(parameters.get("crossfade_emulated", "")).lower() == "true",
    }
    steps = (config.get("ensemble_scheduling") or {}).get("step") or []
    if steps:
        facts["ensemble_steps"] = [step.get("model_name") for step in steps]
    return facts
