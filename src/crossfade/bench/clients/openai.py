"""OpenAI-compatible `/completions` and `/chat/completions`, streamed as SSE or answered whole.

End of a stream: a choice with a `finish_reason`, or `data: [DONE]`; a body that ends or breaks
before either is TRUNCATED.
Tokens per chunk: streams ask for `stream_options.continuous_usage_stats`, so servers that have
it (vLLM) put a running `usage.completion_tokens` in every chunk and a chunk's tokens are the
difference; elsewhere each chunk with text counts as one token and the trailing usage total is
the server's count.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from crossfade.bench.clients import get_json
from crossfade.bench.clients.http_api import HttpApiClient


class OpenAIClient(HttpApiClient):
    """Completions or chat, by the target's dialect; see `HttpApiClient`."""

    async def _describe(self, session: aiohttp.ClientSession, info: dict[str, Any]) -> None:
        """The served model from `/models`, and vLLM's `/version` where there is one."""
        root = f"http://{self.spec.address}{self.spec.base_path}"
        listing = await get_json(session, f"{root}/models")
        models = {str(m.get("id")): m for m in listing.get("data", [])}
        info["served_models"] = sorted(models)
        if (model := models.get(self.spec.model)) is not None:
            info["owned_by"] = model.get("owned_by")
            info["max_model_len"] = model.get("max_model_len")
        else:
            info["error"] = f"model {self.spec.model!r} is not served"
        info["server_version"] = await _vllm_version(session, root)


async def _vllm_version(session: aiohttp.ClientSession, root: str) -> str | None:
    """vLLM serves `/version` beside `/v1`; other servers may not."""
    try:
        version = await get_json(session, f"{root.removesuffix('/v1')}/version")
    except (aiohttp.ClientError, RuntimeError, ValueError):
        return None
    return str(version.get("version")) if isinstance(version, dict) else None
