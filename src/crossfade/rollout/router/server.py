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
import json
import random
import socket
import time
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import Any

import aiohttp
from aiohttp import web

from crossfade.bench.protocol import RequestRecord
from crossfade.rollout.router.choose import choose
from crossfade.rollout.router.config import RouterConfig
from crossfade.rollout.router.front import (
    Api,
    CanonicalRequest,
    FrontError,
    parse_openai,
    parse_triton,
)
from crossfade.rollout.router.health import counts_against, may_fall_back
from crossfade.rollout.router.metrics import RouterMetrics
from crossfade.rollout.router.observations import Observation, ObservationRing, observe
from crossfade.rollout.router.replies import error_body
from crossfade.rollout.router.shadow import Answer, ShadowBook, ShadowComparison
from crossfade.rollout.router.sinks import ClientSink, Collector
from crossfade.rollout.router.state import RouterState
from crossfade.rollout.router.upstream import Upstream, relay

SHUTDOWN_TIMEOUT_S = 2.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
        self.data_port = self.admin_port = 0
        self._runners: list[web.AppRunner] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind both listeners (port 0: any free port, read back into data_port/admin_port),
        learn the backends' input names and start probing them."""
        from crossfade.rollout.router.admin import admin_app

        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        try:
            await asyncio.gather(*(u.start(self._session) for u in self.upstreams.values()))
            listen, admin = self.config.listen, self.config.admin
            self.data_port = await self._serve(self._data_app(), listen.host, listen.port)
            self.admin_port = await self._serve(admin_app(self), admin.host, admin.port)
        except BaseException:
            await self.stop()
            raise
        self._spawn(self._probe_loop())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for runner in self._runners:
            await runner.cleanup()
        for upstream in self.upstreams.values():
            await upstream.close()
        if self._session is not None:
            await self._session.close()

    async def _serve(self, app: web.Application, host: str, port: int) -> int:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)
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

    def _data_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/completions", self._openai_handler("completions"))
        app.router.add_post("/v1/chat/completions", self._openai_handler("chat"))
        app.router.add_post("/v2/models/{model}/generate", self._triton_handler(stream=False))
        app.router.add_post("/v2/models/{model}/generate_stream", self._triton_handler(stream=True))
        app.router.add_get("/metrics", self._metrics)
        for path in ("/health", "/v2/health/live"):
            app.router.add_get(path, self._live)
        app.router.add_get("/v2/health/ready", self._ready)
        app.router.add_get("/v2/models/{model}/ready", self._ready)
        return app

    def _openai_handler(self, api: Api) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._handle(request, api, lambda body: parse_openai(body, api))

        return handle

    def _triton_handler(self, *, stream: bool) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            model = request.match_info["model"]

            def parse(body: Any) -> CanonicalRequest:
                return parse_triton(body, model, stream=stream)

            return await self._handle(request, "triton", parse)

        return handle

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), content_type="text/plain")

    async def _live(self, request: web.Request) -> web.Response:
        return web.json_response({"live": True})

    async def _ready(self, request: web.Request) -> web.Response:
        ready = any(b.in_rotation for b in self.state.backends)
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def _handle(
        self, http_request: web.Request, api: Api, parse: Callable[[Any], CanonicalRequest]
    ) -> web.StreamResponse:
        try:
            body = json.loads(await http_request.read())
            request = parse(body)
        except ValueError as exc:  # not JSON (FrontError is not a ValueError)
            message = f"the body is not JSON: {exc}"
            return web.json_response(error_body(api, message, 400), status=400)
        except FrontError as exc:
            return web.json_response(error_body(api, str(exc), exc.status), status=exc.status)
        return await self._route(http_request, request, self._sticky_key(http_request, body))

    def _sticky_key(self, http_request: web.Request, body: Any) -> str | None:
        sticky = self.config.sticky
        if sticky is None:
            return None
        if sticky.header is not None:
            return http_request.headers.get(sticky.header)
        value = body.get(sticky.field) if isinstance(body, dict) else None
        return None if value is None else str(value)

    async def _route(
        self, http_request: web.Request, request: CanonicalRequest, sticky_key: str | None
    ) -> web.StreamResponse:
        sink = ClientSink(http_request, request)
        order = choose(self.state.views(), sticky_key, self.rng)
        if not order:
            self.metrics.client_failures.labels("no_backend").inc()
            return sink.refuse("no backend in rotation: all are ejected", 503)
        comparison = self._maybe_mirror(request, order[0])
        failures: list[str] = []
        for position, name in enumerate(order):
            sink.reset()
            record, observation = await self._attempt(name, request, sink, shadow=False)
            if comparison is not None:
                self.shadows.fill(comparison, Answer(observation, sink.text), shadow=False)
                comparison = None  # compared with the first backend's answer only
            kind, status = record.error_kind, record.http_status
            if kind is None or kind.value in ("short_output", "long_output"):
                return await sink.succeed()  # a wrong length is observed, not hidden
            if kind.value == "cancelled":
                return sink.response or web.Response(status=499)
            if sink.committed:
                self.metrics.client_failures.labels("midstream").inc()
                return await sink.fail_midstream(
                    f"backend {name} failed mid-stream: {record.error}"
                )
            failures.append(f"{name}: {record.error}")
            if not may_fall_back(kind, status, record.error):
                self.metrics.client_failures.labels("rejected").inc()
                return sink.refuse(f"backend {name}: {record.error}", status or 502)
            if position + 1 < len(order):
                self.metrics.fallbacks.labels(name, order[position + 1]).inc()
        self.metrics.client_failures.labels("no_backend").inc()
        last_status = status if status == 429 else 502
        return sink.refuse("no backend could answer: " + "; ".join(failures), last_status)

    async def _attempt(
        self, name: str, request: CanonicalRequest, sink: Collector, *, shadow: bool
    ) -> tuple[RequestRecord, Observation]:
        record = RequestRecord(0, 0, request.max_tokens, scheduled_ns=perf_counter_ns())
        await relay(self.upstreams[name], request, record, sink, self.config.timeouts)
        verdict = counts_against(record.error_kind, record.http_status, record.error)
        if verdict is not None:
            self.state.get(name).health.request_done(failed=verdict)
        observation = observe(record, name, shadow=shadow, exact_length=request.exact_length)
        self.metrics.attempt(name, record, observation.itl_ms, shadow=shadow)
        return record, self.observations.add(observation)

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
            _, observation = await self._attempt(name, request, sink, shadow=True)
            self.shadows.fill(comparison, Answer(observation, sink.text), shadow=True)
        finally:
            self.shadows.in_flight -= 1
