"""Client load for canary tests: streamed completions through a router's data port."""

from __future__ import annotations

import asyncio

import aiohttp


async def client_load(
    port: int, done: asyncio.Event, concurrency: int = 3, tokens: int = 8, *, exact: bool = True
) -> int:
    """Streamed completions through the router's data port until `done`; how many finished.
    `exact`: ask for exactly `tokens` (ignore_eos), so the router checks each answer's length;
    otherwise `tokens` is only a cap (the only kind an LLM API backend can take)."""
    body: dict[str, object] = {
        "model": "any", "prompt": "hello", "max_tokens": tokens, "stream": True,
        "stream_options": {"include_usage": True},
    }  # fmt: skip
    if exact:
        body |= {"min_tokens": tokens, "ignore_eos": True}
    finished = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal finished
        while not done.is_set():
            async with session.post(f"http://127.0.0.1:{port}/v1/completions", json=body) as r:
                await r.read()
            finished += 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return finished
