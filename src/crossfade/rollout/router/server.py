"""The router as a running thing: the data plane (the client APIs, /metrics, health), the admin
listener, the health probes and the shadow mirrors around the pure parts (`choose`, `health`,
`state`) and the relaying ones (`upstream`, `sinks`).

One client request: parse it into the canonical request, `choose` the backends to try, maybe
mirror it, then try them in order. An attempt that fails before anything went to the client
falls back to the next backend when the failure allows (`may_fall_back`); once output went to
the client there is no retry, and a failure ends the stream with an in-band error. Every attempt
updates its backend's health, the metrics and the observations.
"""

from __future__ import annotations

import asyncio
import random
import re
import socket
import time
from collections.abc import Awaitable, Callable
from functools import partial
from time import perf_counter_ns
from typing import Any

import aiohttp
from aiohttp import web

from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.rollout.router.choose import choose
from crossfade.rollout.router.config import RouterConfig
from crossfade.rollout.router.front import (
    Api,
    CanonicalRequest,
    FrontError,
    parse_openai,
    parse_triton,
    read_json,
)
from crossfade.rollout.router.front_llmapi import parse_llmapi
from crossfade.rollout.router.health import counts_against, may_fall_back
from crossfade.rollout.router.http_server import (
    HttpRequest,
    HttpServerConnection,
    Responder,
)
from crossfade.rollout.router.metrics import RouterMetrics
from crossfade.rollout.router.observations import Observation, ObservationRing, observe
from crossfade.rollout.router.replies import error_body
from crossfade.rollout.router.shadow import Answer, ShadowBook, ShadowComparison
from crossfade.rollout.router.sinks import ClientSink, Collector
from crossfade.rollout.router.state import RouterState
from crossfade.rollout.router.upstream import Upstream, relay

SHUTDOWN_TIMEOUT_S = 2.0
_TRITON_PATH = re.compile(r"/v2/models/([^/]+)/(generate|generate_stream|ready)")
_ROUTED: dict[str, Api] = {"/v1/completions": "completions", "/v1/chat/completions": "chat"}
_WRONG_LENGTH = frozenset({ErrorKind.SHORT_OUTPUT, ErrorKind.LONG_OUTPUT})


class Router:
    def __init__(
        self,
        config: RouterConfig,
        token: str,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        shadow_limit: int = 64,
    ) -> None:
        self.config, self.token = config, token
        self.rng = rng or random.Random()
        self.state = RouterState(config, clock)
        self.upstreams = {b.name: Upstream(b.spec) for b in config.backends}
        self.metrics = RouterMetrics()
        for backend in self.state.backends:
            self.metrics.watch_backend(backend)
        self.observations = ObservationRing()
        self.shadows = ShadowBook(limit=shadow_limit)
        # Sampling fields some backend's API has no input for: a request that asks for one is
        # checked against every backend (`_refusal`), so its answer never depends on the draw.
        self.may_refuse: frozenset[str] = frozenset()
        self.data_port = self.admin_port = 0
        self._runners: list[web.AppRunner] = []
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()  # probes, mirrors and client requests
        self._session: aiohttp.ClientSession | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind both listeners (port 0: any free port, read back into data_port/admin_port),
        learn the backends' input names and start probing them."""
        from crossfade.rollout.router.admin import admin_app

        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        try:
            await asyncio.gather(*(u.start(self._session) for u in self.upstreams.values()))
            self.may_refuse = frozenset().union(*(u.may_refuse() for u in self.upstreams.values()))
            listen, admin = self.config.listen, self.config.admin
            self.data_port = await self._serve_data(listen.host, listen.port)
            self.admin_port = await self._serve(admin_app(self), admin.host, admin.port)
        except BaseException:
            await self.stop()
            raise
        self._spawn(self._probe_loop())

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for runner in self._runners:
            await runner.cleanup()
        for upstream in self.upstreams.values():
            await upstream.close()
        if self._session is not None:
            await self._session.close()

    async def _serve_data(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        sock = _listening_socket(host, port)
        server = await loop.create_server(
            lambda: HttpServerConnection(self._dispatch, self._tasks), sock=sock
        )
        self._servers.append(server)
        return int(sock.getsockname()[1])

    async def _serve(self, app: web.Application, host: str, port: int) -> int:
        sock = _listening_socket(host, port)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        self._runners.append(runner)
        await web.SockSite(runner, sock).start()
        return int(sock.getsockname()[1])

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _probe_loop(self) -> None:
        tick = min(self.config.health.interval_s / 4, 0.25)
        probing: set[str] = set()

        async def probe(name: str) -> None:
            assert self._session is not None
            try:
                ok = await self.upstreams[name].probe(self._session, self.config.health.interval_s)
                self.state.get(name).health.probe_done(ok)
            finally:
                probing.discard(name)

        while True:
            for backend in self.state.backends:
                if backend.name not in probing and backend.health.probe_due():
                    probing.add(backend.name)
                    self._spawn(probe(backend.name))
            await asyncio.sleep(tick)

    # --- data plane ------------------------------------------------------------------------

    def _dispatch(self, http: HttpRequest, responder: Responder) -> Awaitable[None] | None:
        """A routed request becomes the request's task; everything else is answered at once."""
        path = http.path
        api = _ROUTED.get(path)
        triton = None if api else _TRITON_PATH.fullmatch(path)
        routed = api is not None or (triton is not None and triton[2] != "ready")
        if routed and http.method == "POST":
            if api is None:
                assert triton is not None
                model, stream = triton[1], triton[2] == "generate_stream"
                if self.config.triton_front(model) == "llmapi":
                    parse = partial(parse_llmapi, model=model, stream=stream)
                    return self._handle(http, responder, "llmapi", parse)
                parse = partial(parse_triton, model=model, stream=stream)
                return self._handle(http, responder, "triton", parse)
            return self._handle(http, responder, api, lambda body: parse_openai(body, api))
        if routed or (http.method != "GET" and (triton is not None or path in _GETS)):
            responder.send_json(405, {"error": f"{path} takes {'POST' if routed else 'GET'}"})
        elif path == "/metrics":
            responder.send(200, self.metrics.render(), b"text/plain; version=0.0.4")
        elif path in ("/health", "/v2/health/live"):
            responder.send_json(200, {"live": True})
        elif path == "/v2/health/ready" or triton is not None:
            ready = any(b.in_rotation for b in self.state.backends)
            responder.send_json(200 if ready else 503, {"ready": ready})
        else:
            responder.send_json(404, {"error": f"not found: {path}"})
        return None

    def _handle(
        self,
        http: HttpRequest,
        responder: Responder,
        api: Api,
        parse: Callable[[Any], CanonicalRequest],
    ) -> Awaitable[None] | None:
        try:
            body = read_json(http.body)
            request = parse(body)
            if self.may_refuse and not self.may_refuse.isdisjoint(request.sampling):
                self._refuse_uncarried(request)
            sticky_key = self._sticky_key(http, body)
        except FrontError as exc:
            responder.send_json(exc.status, error_body(api, str(exc), exc.status))
            return None
        return self._route(responder, request, sticky_key)

    def _refuse_uncarried(self, request: CanonicalRequest) -> None:
        """A 400 when some backend cannot carry `request`, whichever backend the draw picks:
        the answer must not depend on it (as for the fields the front refuses)."""
        for name, upstream in self.upstreams.items():
            why = upstream.refusal(request)
            if why is not None:
                raise FrontError(f"not translated to every backend: backend {name}: {why}")

    def _sticky_key(self, http: HttpRequest, body: Any) -> str | None:
        sticky = self.config.sticky
        if sticky is None:
            return None
        if sticky.header is not None:
            return http.headers.get(sticky.header.lower())
        value = body.get(sticky.field) if isinstance(body, dict) else None
        if value is None:
            return None
        if not isinstance(value, str | int | float):
            raise FrontError(f"{sticky.field} (the sticky key) must be a string or a number")
        return str(value)

    async def _route(
        self, responder: Responder, request: CanonicalRequest, sticky_key: str | None
    ) -> None:
        """Try the backends in order. Each attempt answers the client (or decides to fall back)
        first, and is accounted for after: the bookkeeping is not on the client's path."""
        sink = ClientSink(responder, request)
        order = choose(self.state.views(), sticky_key, self.rng)
        if not order:
            self.metrics.client_failures.labels("no_backend").inc()
            sink.refuse("no backend in rotation: all are ejected", 503)
            return
        comparison = self._maybe_mirror(request, order[0])
        failures: list[str] = []
        status: int | None = None
        deadline_ns = self._deadline_ns()
        for position, name in enumerate(order):
            if perf_counter_ns() >= deadline_ns:  # spent by the backends tried before
                break
            sink.reset()
            record = await self._attempt(name, request, sink, deadline_ns)
            done = self._answer(name, record, sink, order[position + 1 :], failures)
            observation = self._account(name, request, record, shadow=False)
            if comparison is not None:
                self.shadows.fill(comparison, Answer(observation, sink.text), shadow=False)
                comparison = None  # compared with the first backend's answer only
            if done:
                return
            status = record.http_status
        self.metrics.client_failures.labels("no_backend").inc()
        if perf_counter_ns() >= deadline_ns:
            status = 504  # timeouts.total_s is spent: no backend is tried after it
        last_status = status if status in (429, 504) else 502
        sink.refuse("no backend could answer: " + "; ".join(failures), last_status)

    def _deadline_ns(self) -> int:
        return perf_counter_ns() + int(self.config.timeouts.total_s * 1e9)

    async def _attempt(
        self, name: str, request: CanonicalRequest, sink: Collector, deadline_ns: int
    ) -> RequestRecord:
        """One try of backend `name`, relayed into `sink` until `deadline_ns` at the latest;
        its record, not yet accounted for."""
        record = RequestRecord(0, 0, request.max_tokens, scheduled_ns=perf_counter_ns())
        timeouts = self.config.timeouts
        await relay(self.upstreams[name], request, record, sink, timeouts, deadline_ns)
        return record

    def _answer(
        self,
        name: str,
        record: RequestRecord,
        sink: ClientSink,
        rest: list[str],
        failures: list[str],
    ) -> bool:
        """Answer the client after backend `name`'s attempt; False: fall back to `rest[0]`."""
        kind, status = record.error_kind, record.http_status
        if kind is None or kind in _WRONG_LENGTH:
            sink.succeed()  # a wrong length is observed, not hidden
            return True
        if kind is ErrorKind.CANCELLED:
            return True  # the client went away: nobody to answer
        if sink.committed:
            self.metrics.client_failures.labels("midstream").inc()
            sink.fail_midstream(f"backend {name} failed mid-stream: {record.error}")
            return True
        failures.append(f"{name}: {record.error}")
        if not may_fall_back(kind, status, record.error):
            self.metrics.client_failures.labels("rejected").inc()
            sink.refuse(f"backend {name}: {record.error}", status or 502)
            return True
        if rest:
            self.metrics.fallbacks.labels(name, rest[0]).inc()
        return False

    def _account(
        self, name: str, request: CanonicalRequest, record: RequestRecord, *, shadow: bool
    ) -> Observation:
        """Health, metrics and the observation of one finished attempt."""
        verdict = counts_against(record.error_kind, record.http_status, record.error)
        if verdict is not None:
            self.state.get(name).health.request_done(failed=verdict)
        observation = observe(record, name, shadow=shadow, exact_length=request.exact_length)
        self.metrics.attempt(name, record, observation.itl_ms, shadow=shadow)
        return self.observations.add(observation)

    # --- shadow ----------------------------------------------------------------------------

    def _maybe_mirror(self, request: CanonicalRequest, primary: str) -> ShadowComparison | None:
        target = self.shadows.should_mirror(self.state, primary, self.rng)
        if target is None:
            return None
        if not self.shadows.has_room():
            self.metrics.shadow_dropped.inc()
            return None
        comparison = ShadowComparison()
        self.shadows.in_flight += 1
        self._spawn(self._mirror(target, request, comparison))
        return comparison

    async def _mirror(
        self, name: str, request: CanonicalRequest, comparison: ShadowComparison
    ) -> None:
        try:
            sink = Collector()
            record = await self._attempt(name, request, sink, self._deadline_ns())
            observation = self._account(name, request, record, shadow=True)
            self.shadows.fill(comparison, Answer(observation, sink.text), shadow=True)
        finally:
            self.shadows.in_flight -= 1


_GETS = frozenset({"/metrics", "/health", "/v2/health/live", "/v2/health/ready"})


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)
