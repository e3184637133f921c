"""OpenAI-compatible `/completions` and `/chat/completions`, streamed as SSE or answered whole.

End of a stream: a choice with a `finish_reason`, or `data: [DONE]`; a body that ends or breaks
before either is TRUNCATED.
Tokens per chunk: streams ask for `stream_options.continuous_usage_stats`, so servers that have
it (vLLM) put a running `usage.completion_tokens` in every chunk and a chunk's tokens are the
difference; elsewhere each chunk with text counts as one token and the trailing usage total is
the server's count.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from crossfade.bench.clients import get_json, info_header, open_session
from crossfade.bench.clients.exchange import post_and_record
from crossfade.bench.clients.http1 import Http1Pool
from crossfade.bench.dialects import (
    openai_chat_payload,
    openai_completions_payload,
    parse_openai_chat_event,
    parse_openai_completions_event,
)
from crossfade.bench.protocol import BenchRequest, RequestRecord
from crossfade.bench.targets import TargetSpec

INFO_TIMEOUT_S = 10.0


class OpenAIClient:
    """One aiohttp session for every request of a run; completions or chat by the spec."""

    def __init__(
        self,
        spec: TargetSpec,
        *,
        concurrency: int = 0,
        request_timeout_s: float | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self._concurrency = concurrency
        self._timeout_s = request_timeout_s
        self._extra = dict(extra or {})  # more body fields, e.g. temperature
        self._root = f"http://{spec.address}{spec.base_path}"
        self._is_chat = spec.dialect == "chat"
        endpoint = "chat/completions" if self._is_chat else "completions"
        self._path = f"{spec.base_path}/{endpoint}"
        self._parse = parse_openai_chat_event if self._is_chat else parse_openai_completions_event
        self._session: aiohttp.ClientSession | None = None  # off the measured path
        self._pool: Http1Pool | None = None

    async def start(self) -> None:
        self._session = open_session()
        self._pool = Http1Pool(self.spec.host, self.spec.port)
        await self._pool.warm(self._concurrency)

    def payload(self, request: BenchRequest) -> dict[str, Any]:
        build = openai_chat_payload if self._is_chat else openai_completions_payload
        return build(request, self.spec.model, extra=self._extra)

    async def send(self, request: BenchRequest, record: RequestRecord) -> None:
        if self._pool is None:
            raise RuntimeError("OpenAIClient.send before start()")
        body = json.dumps(self.payload(request)).encode()
        await post_and_record(
            self._pool,
            self._path,
            body,
            record,
            stream=request.stream,
            parse=self._parse,
            clean_end_is_final=False,
            timeout_s=self._timeout_s,
        )

    async def server_info(self) -> dict[str, Any]:
        """The served model from `/models`, and vLLM's `/version` where there is one; a failure
        is reported under "error", never raised."""
        info = info_header(self.spec)
        session = self._session or open_session()
        try:
            async with asyncio.timeout(INFO_TIMEOUT_S):
                listing = await get_json(session, f"{self._root}/models")
                models = {str(m.get("id")): m for m in listing.get("data", [])}
                info["served_models"] = sorted(models)
                if (model := models.get(self.spec.model)) is not None:
                    info["owned_by"] = model.get("owned_by")
                    info["max_model_len"] = model.get("max_model_len")
                else:
                    info["error"] = f"model {self.spec.model!r} is not served"
                info["server_version"] = await self._vllm_version(session)
        except (aiohttp.ClientError, RuntimeError, ValueError, TimeoutError) as exc:
            info["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            if session is not self._session:
                await session.close()
        return info

    async def _vllm_version(self, session: aiohttp.ClientSession) -> str | None:
        """vLLM serves `/version` beside `/v1`; other servers may not."""
        root = self._root.removesuffix("/v1")
        try:
            version = await get_json(session, f"{root}/version")
        except (aiohttp.ClientError, RuntimeError, ValueError):
            return None
        return str(version.get("version")) if isinstance(version, dict) else None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._session is not None:
            await self._session.close()
            self._session = None
