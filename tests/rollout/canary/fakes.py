"""Test doubles for the canary: a fake clock, and `FakeRouterAdmin`, a TEST DOUBLE of the
router's admin API (the real router is crossfade.rollout.router) that serves the contract's
endpoints on a real aiohttp server on a free port and makes up the requests it "routed".

The fake router generates traffic as time passes on the clock it is given: on every
GET /admin/observations it first adds `rate` requests per second elapsed since the last one,
split by the current weights, each mirrored to the shadow backend with the shadow share.
Latencies, errors and lengths come from each backend's `Profile`, which a test may change
mid-run (`profiles[name] = ...`, or `schedule` for a change at a given time). With
`eject_after`, a backend that failed that many times in a row leaves the rotation for good (the
real router probes it back; this double does not).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

from crossfade.spec.canary_plan import CanaryPlan, Gates, RouterAccess, StepTiming

TOKEN = "test-admin-token"


class FakeClock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Profile:
    ttft_ms: float = 20.0
    itl_ms: float = 5.0
    error_rate: float = 0.0
    tokens: int = 16
    short_rate: float = 0.0  # share of responses one token short of what was asked


@dataclass
class FakeRouterAdmin:
    """A stand-in for the router's admin API; see the module docstring."""

    now: Callable[[], float]
    profiles: dict[str, Profile]
    rate: float = 40.0
    page_size: int = 10_000
    eject_after: int | None = None  # consecutive failures that take a backend out, as the router
    token: str = TOKEN
    schedule: list[tuple[float, str, Profile]] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    shadow: dict[str, Any] | None = None
    log: list[tuple[str, Any]] = field(default_factory=list)
    seq: int = 0
    ring: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self.weights = self.weights or {name: 0.0 for name in self.profiles}
        first = next(iter(self.profiles))
        self.weights[first] = self.weights[first] or 100.0
        self.failures = dict.fromkeys(self.profiles, 0)
        self.rng = np.random.default_rng(7)
        self.last = self.now()
        self.carry = 0.0
        self._runner: web.AppRunner | None = None

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/admin/backends", self._backends)
        app.router.add_put("/admin/weights", self._set_weights)
        app.router.add_put("/admin/shadow", self._set_shadow)
        app.router.add_get("/admin/observations", self._observations)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @contextmanager
    def in_thread(self) -> Iterator[FakeRouterAdmin]:
        """Serve from a thread of its own (for code that runs its own event loop)."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        assert ready.wait(10), "the fake router did not start"
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    def _listing(self) -> dict[str, Any]:
        backends = [
            {"name": name, "target": f"openai://fake/{name}", "weight": self.weights[name],
             "healthy": self._healthy(name), "ejected": False,
             "consecutive_failures": self.failures[name]}
            for name in self.profiles
        ]  # fmt: skip
        return {"backends": backends, "shadow": self.shadow}

    async def _backends(self, request: web.Request) -> web.Response:
        return web.json_response(self._listing())

    async def _set_weights(self, request: web.Request) -> web.Response:
        self._generate()  # what ran until now ran under the old weights
        weights = (await request.json())["weights"]
        unknown = [name for name in weights if name not in self.profiles]
        if unknown:
            return web.json_response({"error": f"unknown backend {unknown[0]}"}, status=400)
        self.weights.update({name: float(w) for name, w in weights.items()})
        self.log.append(("weights", dict(weights)))
        return web.json_response(self._listing())

    async def _set_shadow(self, request: web.Request) -> web.Response:
        self._generate()
        body = await request.json()
        self.shadow = None if body.get("backend") is None else body
        self.log.append(("shadow", body))
        return web.json_response(self._listing())

    async def _observations(self, request: web.Request) -> web.Response:
        self._generate()
        after = int(request.query["after"])
        if after < 0:  # as the router does
            return web.json_response({"error": "after must be >= 0"}, status=400)
        page = [o for o in self.ring if o["seq"] > after][: self.page_size]
        return web.json_response({"next": page[-1]["seq"] if page else after, "observations": page})

    def _generate(self) -> None:
        now = self.now()
        while self.schedule and self.schedule[0][0] <= now:
            _, name, profile = self.schedule.pop(0)
            self.profiles[name] = profile
        self.carry += max(0.0, now - self.last) * self.rate
        self.last = now
        while self.carry >= 1:
            self.carry -= 1
            names = [n for n in self.profiles if self._healthy(n)]
            weights = np.array([self.weights[n] for n in names], float)
            if weights.sum() <= 0:  # everything weighted is out: the first in rotation serves
                weights = np.eye(len(names))[0]
            primary = names[int(self.rng.choice(len(names), p=weights / weights.sum()))]
            self._record(primary, False, now)
            shadow = self.shadow["backend"] if self.shadow else None
            if shadow and self._healthy(shadow) and self.rng.random() < self.shadow["share"]:
                self._record(shadow, True, now)

    def _healthy(self, name: str) -> bool:
        return self.eject_after is None or self.failures[name] < self.eject_after

    def _record(self, backend: str, shadow: bool, now: float) -> None:
        profile = self.profiles[backend]
        self.seq += 1
        ok = self.rng.random() >= profile.error_rate
        self.failures[backend] = 0 if ok else self.failures[backend] + 1
        tokens = profile.tokens - (1 if self.rng.random() < profile.short_rate else 0)
        spread = self.rng.lognormal(0.0, 0.15, size=tokens)
        self.ring.append(
            {
                "seq": self.seq,
                "backend": backend,
                "shadow": shadow,
                "ok": ok,
                "error_kind": None if ok else "http_503",
                "ttft_ms": profile.ttft_ms * float(spread[0]) if ok else None,
                "itl_ms": [profile.itl_ms * float(s) for s in spread[1:]] if ok else [],
                "output_tokens": tokens if ok else None,
                "requested_tokens": profile.tokens,
                "end_unix": now,
            }
        )


def make_plan(journal: str = "canary.jsonl", **changes: Any) -> CanaryPlan:
    """A plan for tests: 30 s steps evaluated every 5 s, 50 requests a side, loose gates."""
    fields: dict[str, Any] = {
        "version": 1,
        "router": RouterAccess(admin_url="http://127.0.0.1:9", token_env="CANARY_TEST_TOKEN"),
        "incumbent": "incumbent",
        "candidate": "candidate",
        "steps": ["shadow", 5, 20, 50, 100],
        "step": StepTiming(min_duration_s=30, min_samples=50, max_duration_s=60, interval_s=5),
        "gates": Gates(
            ttft_p95_ratio_max=1.5,
            itl_p95_ratio_max=1.5,
            error_rate_delta_max=0.05,
            length_mismatch_delta_max=0.05,
        ),
        "on_unclear": "pause",
        "journal": journal,
    }
    return CanaryPlan.model_validate(fields | changes)
