"""Triton's HTTP generate extension: `/generate` for one JSON answer, `/generate_stream` for SSE.

How a stream's end is recognised:
- vLLM backend: the response whose `finish_reason` is set (we ask for `return_finish_reason`);
  a body that ends before it is TRUNCATED.
- TensorRT-LLM ensemble/BLS: no output marks the last response, so the clean end of the
  chunked body is the marker (Triton ends it only after the model's final flag); a body that
  breaks off with a transport error is TRUNCATED.
Tokens per chunk are the responses' `num_output_tokens` (new tokens in that response, summed for
the server total), so nothing is re-tokenised.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from crossfade.bench.clients import get_json, info_header, open_session
from crossfade.bench.clients.exchange import post_and_record
from crossfade.bench.clients.http1 import Http1Pool
from crossfade.bench.dialects import (
    parse_triton_trtllm_event,
    parse_triton_vllm_event,
    triton_trtllm_payload,
    triton_vllm_payload,
)
from crossfade.bench.protocol import BenchRequest, RequestRecord
from crossfade.bench.targets import TargetSpec

INFO_TIMEOUT_S = 10.0


def min_tokens_input_name(input_names: set[str]) -> str:
    """`min_tokens`, or `min_length` for repositories from before the rename (TB <= 2025-03)."""
    if "min_tokens" not in input_names and "min_length" in input_names:
        return "min_length"
    return "min_tokens"


def triton_model_facts(metadata: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """What a report needs from a model's metadata and config (HTTP JSON or gRPC as dict)."""
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


class TritonHttpClient:
    """One aiohttp session for every request of a run; see the module doc for the rules."""

    def __init__(
        self,
        spec: TargetSpec,
        *,
        concurrency: int = 0,
        request_timeout_s: float | None = None,
        sampling: Mapping[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self._concurrency = concurrency
        self._timeout_s = request_timeout_s
        self._sampling = dict(sampling or {})  # vLLM only: extra sampling parameters
        self._root = f"http://{spec.address}/v2"
        self._model_path = f"/v2/models/{quote(spec.model, safe='')}"
        self._model_url = f"http://{spec.address}{self._model_path}"
        self._is_vllm = spec.dialect == "vllm"
        self._parse = parse_triton_vllm_event if self._is_vllm else parse_triton_trtllm_event
        self._min_tokens_input = "min_tokens"
        self._session: aiohttp.ClientSession | None = None  # off the measured path
        self._pool: Http1Pool | None = None

    async def start(self) -> None:
        self._session = open_session()
        self._pool = Http1Pool(self.spec.host, self.spec.port)
        await self._pool.warm(self._concurrency)
        if self._is_vllm:
            return
        try:  # best effort: if the server is not there, the requests will say so
            async with asyncio.timeout(INFO_TIMEOUT_S):
                metadata = await get_json(self._session, self._model_url)
            names = {str(item.get("name")) for item in metadata.get("inputs", [])}
            self._min_tokens_input = min_tokens_input_name(names)
        except (aiohttp.ClientError, RuntimeError, ValueError, TimeoutError, AttributeError):
            pass

    def payload(self, request: BenchRequest) -> dict[str, Any]:
        if self._is_vllm:
            return triton_vllm_payload(request, sampling=self._sampling)
        return triton_trtllm_payload(request, min_tokens_input=self._min_tokens_input)

    async def send(self, request: BenchRequest, record: RequestRecord) -> None:
        if self._pool is None:
            raise RuntimeError("TritonHttpClient.send before start()")
        body = json.dumps(self.payload(request)).encode()
        endpoint = "generate_stream" if request.stream else "generate"
        await post_and_record(
            self._pool,
            f"{self._model_path}/{endpoint}",
            body,
            record,
            stream=request.stream,
            parse=self._parse,
            clean_end_is_final=not self._is_vllm,
            timeout_s=self._timeout_s,
        )

    async def server_info(self) -> dict[str, Any]:
        """Server and model facts from `/v2`, `/v2/models/M` and its `/config`; a failure is
        reported under "error", never raised."""
        info = info_header(self.spec)
        session = self._session or open_session()
        try:
            async with asyncio.timeout(INFO_TIMEOUT_S):
                server = await get_json(session, self._root)
                info["server"] = server.get("name")
                info["server_version"] = server.get("version")
                metadata = await get_json(session, self._model_url)
                config = await get_json(session, f"{self._model_url}/config")
            info.update(triton_model_facts(metadata, config))
        except (aiohttp.ClientError, RuntimeError, ValueError, TimeoutError) as exc:
            info["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            if session is not self._session:
                await session.close()
        return info

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._session is not None:
            await self._session.close()
            self._session = None
