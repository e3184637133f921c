"""What the HTTP API clients share: measured requests in the target's dialect through `exchange`
over an `http1` keep-alive pool, and an aiohttp session for everything off the measured path.
`TritonHttpClient` and `OpenAIClient` add what their servers tell about themselves."""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import aiohttp

from crossfade.bench.clients import info_header, open_session
from crossfade.bench.clients.exchange import post_and_record
from crossfade.bench.clients.http1 import Http1Pool
from crossfade.bench.dialects.base import Dialect
from crossfade.bench.protocol import BenchRequest, RequestRecord
from crossfade.bench.targets import TargetSpec

INFO_TIMEOUT_S = 10.0  # each request off the measured path


class HttpApiClient(ABC):
    """One keep-alive pool and one aiohttp session for every request of a run."""

    def __init__(
        self,
        spec: TargetSpec,
        dialect: Dialect | None = None,
        *,
        concurrency: int = 0,
        request_timeout_s: float | None = None,
        sampling: Mapping[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.dialect = dialect or spec.dialect
        self._concurrency = concurrency
        self._timeout_s = request_timeout_s
        # extra sampling fields for every request, by vLLM's names (none in a benchmark)
        self._sampling: Mapping[str, Any] = MappingProxyType(dict(sampling or {}))
        self._session: aiohttp.ClientSession | None = None  # off the measured path
        self._pool: Http1Pool | None = None
        self._paths = ("", "")  # not streamed, streamed: the dialect's, once started

    async def start(self) -> None:
        self._session = open_session()
        self._pool = Http1Pool(self.spec.host, self.spec.port)
        await self._pool.warm(self._concurrency)
        self.dialect = await self.dialect.opened(self._read_inputs)
        self._paths = (self.dialect.path(stream=False), self.dialect.path(stream=True))

    async def _read_inputs(self) -> frozenset[str] | None:
        """The model's input names, for `Dialect.opened`; None: this API does not list them."""
        return None

    def payload(self, request: BenchRequest) -> dict[str, Any]:
        return self.dialect.payload(request.generation(self._sampling))

    async def send(self, request: BenchRequest, record: RequestRecord) -> None:
        if self._pool is None:
            raise RuntimeError(f"{type(self).__name__}.send before start()")
        dialect = self.dialect
        body = json.dumps(self.payload(request)).encode()
        await post_and_record(
            self._pool,
            self._paths[request.stream],
            body,
            record,
            stream=request.stream,
            parse=dialect.parse,
            clean_end_is_final=dialect.clean_end_is_final,
            timeout_s=self._timeout_s,
            verify_length=dialect.forces_length,  # otherwise the length asked was a cap
        )

    async def server_info(self) -> dict[str, Any]:
        """What the server says of itself and the model (`_describe`); a failure is reported
        under "error", never raised."""
        info = info_header(self.spec)
        session = self._session or open_session()
        try:
            async with asyncio.timeout(INFO_TIMEOUT_S):
                await self._describe(session, info)
        except (aiohttp.ClientError, RuntimeError, ValueError, TimeoutError) as exc:
            info["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            if session is not self._session:
                await session.close()
        return info

    @abstractmethod
    async def _describe(self, session: aiohttp.ClientSession, info: dict[str, Any]) -> None:
        """Add the server's and the model's facts to `info`; raises what `server_info` records."""

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._session is not None:
            await self._session.close()
            self._session = None
