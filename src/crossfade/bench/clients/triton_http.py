"""Triton's HTTP generate extension: `/generate` for one JSON answer, `/generate_stream` for SSE.

How a stream's end is recognised is the dialect's: the vLLM backend's last response has a
`finish_reason` (a body that ends before it is TRUNCATED); a TensorRT-LLM ensemble/BLS marks no
response as the last, so the clean end of the chunked body is the marker (Triton ends it only
after the model's final flag) and a body that breaks off is TRUNCATED. Tokens per chunk are the
responses' `num_output_tokens` (new tokens in that response, summed for the server total), so
nothing is re-tokenised.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import aiohttp

from crossfade.bench.clients import get_json, triton_model_facts
from crossfade.bench.clients.http_api import INFO_TIMEOUT_S, HttpApiClient


async def read_input_names(
    session: aiohttp.ClientSession, address: str, model: str, timeout_s: float
) -> frozenset[str] | None:
    """The input names in a Triton model's metadata over HTTP, for `Dialect.opened`; best
    effort: None when they cannot be read (a server that is down will say so to the requests)."""
    url = f"http://{address}/v2/models/{quote(model, safe='')}"
    try:
        async with asyncio.timeout(timeout_s):
            metadata = await get_json(session, url)
        return frozenset(str(item.get("name")) for item in metadata.get("inputs", []))
    except (aiohttp.ClientError, RuntimeError, ValueError, TimeoutError, AttributeError, TypeError):
        return None


class TritonHttpClient(HttpApiClient):
    """See the module doc and `HttpApiClient`."""

    async def _read_inputs(self) -> frozenset[str] | None:
        assert self._session is not None
        return await read_input_names(
            self._session, self.spec.address, self.spec.model, INFO_TIMEOUT_S
        )

    async def _describe(self, session: aiohttp.ClientSession, info: dict[str, Any]) -> None:
        """Server and model facts from `/v2`, `/v2/models/M` and its `/config`."""
        root = f"http://{self.spec.address}/v2"
        model_url = f"{root}/models/{quote(self.spec.model, safe='')}"
        server = await get_json(session, root)
        info["server"] = server.get("name")
        info["server_version"] = server.get("version")
        metadata = await get_json(session, model_url)
        config = await get_json(session, f"{model_url}/config")
        info.update(triton_model_facts(metadata, config))
