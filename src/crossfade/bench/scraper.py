"""Scrapes a Prometheus endpoint before, during and after a run (on its own task)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp

from crossfade.bench.server_metrics import Scrape, parse_samples


class MetricsSampler:
    """Scrape `url` now, every `interval_s` while running, and once more at `stop()`.

    A failing scrape is recorded as a note, never an error of the run: a benchmark of a server
    whose metrics port is closed still measures the client side.
    """

    def __init__(self, url: str, interval_s: float = 2.0) -> None:
        self.url = url
        self.interval_s = interval_s
        self.scrapes: list[Scrape] = []
        self.failures: list[str] = []
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        await self.scrape()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> list[Scrape]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.scrape()
        if self._session is not None:
            await self._session.close()
        return self.scrapes

    async def scrape(self) -> None:
        assert self._session is not None
        try:
            async with self._session.get(self.url) as response:
                text = await response.text()
                if response.status != 200:
                    raise aiohttp.ClientError(f"HTTP {response.status}")
            self.scrapes.append(Scrape(time.perf_counter_ns(), parse_samples(text)))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            if len(self.failures) < 20:
                self.failures.append(f"scrape of {self.url} failed: {exc}")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.scrape()
