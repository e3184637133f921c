"""One backend as the router reaches it: its dialect (a `bench.dialects` object, the one the bench
clients use), the bench's measured HTTP exchange (`http1` keep-alive pool,
`exchange.post_and_record`), and `relay`, which hands each parsed event, with the tokens the
bench's tally counted in it, to a sink inside the read that brought it.

Every upstream request is streamed, whatever the client asked: the router measures TTFT and ITL
from the reads' own timestamps (`perf_counter_ns` in `data_received`, as the bench does), and a
non-streamed answer is assembled by the sink. The record this fills is a bench `RequestRecord`,
so its metrics are the bench's definitions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from functools import partial
from time import perf_counter_ns
from typing import Protocol

import aiohttp

from crossfade.bench.clients.exchange import EventCallback, post_and_record
from crossfade.bench.clients.http1 import Http1Pool
from crossfade.bench.clients.triton_http import read_input_names
from crossfade.bench.dialects.base import (
    Dialect,
    GenerationRequest,
    ParsedEvent,
    UnsupportedSampling,
)
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.targets import TargetSpec
from crossfade.rollout.router.config import Timeouts
from crossfade.rollout.router.front import CanonicalRequest

PROBE_TIMEOUT_S = 5.0
# Past max_tokens, an upstream gets this margin before the router calls it broken: how a
# backend's tokens are counted (its own counts, or one per event with text) may differ a
# little from what it enforced. Text is bounded too, since an event may carry text and no count.
OUTPUT_MARGIN_SHARE, OUTPUT_MARGIN_TOKENS = 0.1, 16
MAX_CHARS_PER_TOKEN = 256
# A value of each portable sampling field that asks something of a backend (not its default):
# what a dialect that has no input for the field refuses (`Upstream.may_refuse`).
SAMPLING_PROBES: dict[str, object] = {  # every PORTABLE_SAMPLING field (test_upstream.py)
    "temperature": 0.5,
    "top_p": 0.5,
    "top_k": 2,
    "seed": 1,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.5,
    "repetition_penalty": 1.5,
    "min_tokens": 2,
    "ignore_eos": True,
    "stop": ["\n"],
}


def output_limit(max_tokens: int) -> int:
    """The most output tokens the router relays for a request asking `max_tokens`."""
    return max_tokens + int(max_tokens * OUTPUT_MARGIN_SHARE) + OUTPUT_MARGIN_TOKENS


class Sink(Protocol):
    """Where relayed output goes: the client's response, or nowhere (shadow). `take` runs inside
    the upstream connection's read."""

    @property
    def gone(self) -> bool: ...

    def on_gone(self, callback: Callable[[], None] | None) -> None: ...

    def take(self, text: str, tokens: int, record: RequestRecord) -> None: ...

    def flush(self) -> None:
        """Send on what was taken: called at the end of each upstream read."""


class Upstream:
    def __init__(self, spec: TargetSpec, dialect: Dialect | None = None) -> None:
        self.spec = spec
        self.dialect = dialect or spec.dialect
        self.pool = Http1Pool(spec.host, spec.port)
        self.path = self.dialect.path(stream=True)
        self.probe_paths = [self.dialect.ready_path()]

    async def start(self, session: aiohttp.ClientSession) -> None:
        """Fit the dialect to the backend's model (what an ensemble calls `min_tokens`); best
        effort, as the bench clients do: a backend that is down keeps the default."""
        spec = self.spec  # the reader asks Triton's model metadata: only its dialects call it
        read = partial(read_input_names, session, spec.address, spec.model, PROBE_TIMEOUT_S)
        self.dialect = await self.dialect.opened(read)

    def payload(self, request: CanonicalRequest) -> bytes:
        return json.dumps(self.dialect.payload(request.generation())).encode()

    def may_refuse(self) -> frozenset[str]:
        """The portable sampling fields this backend's API may have no input for: those its
        dialect refuses at a value that asks something of it (as fitted by `start`)."""
        refused = set()
        for name, value in SAMPLING_PROBES.items():
            try:
                self.dialect.payload(GenerationRequest("", 1, False, sampling={name: value}))
            except UnsupportedSampling:
                refused.add(name)
        return frozenset(refused)

    def refusal(self, request: CanonicalRequest) -> str | None:
        """Why this backend cannot carry `request` (a sampling field its API has no input
        for), or None."""
        try:
            self.dialect.payload(request.generation())
        except UnsupportedSampling as exc:
            return str(exc)
        return None

    async def send(
        self,
        request: CanonicalRequest,
        record: RequestRecord,
        on_event: EventCallback,
        on_read_end: Callable[[], None] | None = None,
    ) -> None:
        try:
            body = self.payload(request)
        except UnsupportedSampling as exc:  # refused here as the backend would: nothing is sent
            record.http_status = 400
            record.fail(ErrorKind.HTTP_STATUS, f"HTTP 400: {exc}", perf_counter_ns())
            return
        await post_and_record(
            self.pool,
            self.path,
            body,
            record,
            stream=True,
            parse=self.dialect.parse,
            clean_end_is_final=self.dialect.clean_end_is_final,
            timeout_s=None,
            on_event=on_event,
            on_read_end=on_read_end,
            verify_length=request.exact_length,
        )

    async def probe(self, session: aiohttp.ClientSession, timeout_s: float) -> bool:
        """Ready: every probe path answers 200."""
        try:
            async with asyncio.timeout(min(timeout_s, PROBE_TIMEOUT_S)):
                for path in self.probe_paths:
                    async with session.get(f"http://{self.spec.address}{path}") as response:
                        await response.read()
                        if response.status != 200:
                            return False
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        await self.pool.close()


async def relay(
    upstream: Upstream,
    request: CanonicalRequest,
    record: RequestRecord,
    sink: Sink,
    timeouts: Timeouts,
    deadline_ns: int,
) -> None:
    """Send `request` upstream and pass its output to `sink` as it arrives; fills `record`.

    Each event is counted and handed to the sink inside the read that brought it, and the sink
    is flushed at the end of that read; this coroutine only waits for the end. Four things
    interrupt it, each recorded first and then cancelling the wait (as `asyncio.timeout` does),
    which closes the upstream connection: the client going away (CANCELLED); no output within
    `timeouts.first_token_s`, none for `timeouts.idle_s` after some, or no end by `deadline_ns`
    (TIMEOUT); and output past `output_limit(max_tokens)` tokens, or its text past
    MAX_CHARS_PER_TOKEN times that (OTHER: the backend ignores max_tokens). The event past
    the limit is not passed on."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    relayed = 0
    most_tokens = output_limit(request.max_tokens)
    most_chars = most_tokens * MAX_CHARS_PER_TOKEN
    # One timer per request, re-armed only when it fires (not on every event): the per-token
    # path only keeps the event's own timestamp for the timeouts.
    last_output_ns: int | None = None
    interrupted = False

    def on_event(event: ParsedEvent, tokens: int, now_ns: int) -> None:
        nonlocal last_output_ns, relayed
        if event.text or tokens:
            last_output_ns = now_ns
            relayed += tokens
            if relayed > most_tokens or record.output_chars > most_chars:
                too_much(record.output_chars > most_chars)
                return
            sink.take(event.text, tokens, record)

    def interrupt(kind: ErrorKind, message: str) -> None:
        nonlocal interrupted
        if not interrupted and not task.done():
            interrupted = True
            record.fail(kind, message, perf_counter_ns())
            task.cancel()

    def too_much(text: bool) -> None:
        what = f"more than {most_chars} characters" if text else f"{relayed} tokens"
        interrupt(
            ErrorKind.OTHER,
            f"the backend sent {what} for max_tokens {request.max_tokens}: it ignores "
            f"max_tokens (the router stops past {most_tokens} tokens)",
        )

    def watchdog() -> None:
        if last_output_ns is None:
            limit, name, what = timeouts.first_token_s, "first_token_s", "no output"
            silent_since_ns = started_ns
        else:
            limit, name, what = timeouts.idle_s, "idle_s", "no more output"
            silent_since_ns = last_output_ns
        now_ns = perf_counter_ns()
        silence_left_s = (silent_since_ns - now_ns) / 1e9 + limit
        total_left_s = (deadline_ns - now_ns) / 1e9
        if silence_left_s <= 0:
            interrupt(ErrorKind.TIMEOUT, f"{what} for {limit:g} s (the router's timeouts.{name})")
        elif total_left_s <= 0:
            message = f"no complete answer within {timeouts.total_s:g} s (timeouts.total_s)"
            interrupt(ErrorKind.TIMEOUT, message)
        else:
            timer[0] = loop.call_later(min(silence_left_s, total_left_s), watchdog)

    def client_gone() -> None:
        interrupt(ErrorKind.CANCELLED, "the client went away")

    if sink.gone:
        record.fail(ErrorKind.CANCELLED, "the client went away", perf_counter_ns())
        return
    started_ns = perf_counter_ns()
    first_wait_s = min(timeouts.first_token_s, (deadline_ns - started_ns) / 1e9)
    timer = [loop.call_later(first_wait_s, watchdog)]
    sink.on_gone(client_gone)
    try:
        await upstream.send(request, record, on_event, on_read_end=sink.flush)
    except asyncio.CancelledError:
        if not interrupted or task.uncancel() > 0:
            raise  # cancelled from outside (the router is stopping)
    finally:
        timer[0].cancel()
        sink.on_gone(None)
