"""The router's Prometheus series, measured at the router, one registry per router.

crossfade_router_requests_total{backend,outcome}   outcome: ok, error, cancelled (client
                                                   requests) and shadow_ok, shadow_error
crossfade_router_errors_total{backend,kind}        kind: the bench's ErrorKind values
crossfade_router_ttft_seconds{backend}             histogram, upstream send -> first token
crossfade_router_itl_seconds{backend}              histogram, one value per token
crossfade_router_fallbacks_total{from,to}
crossfade_router_client_failures_total{reason}     what clients saw fail: no_backend (every
                                                   candidate failed before any byte),
                                                   rejected (a 4xx passed on), midstream
crossfade_router_shadow_dropped_total              mirrors skipped: too many in flight
crossfade_router_backend_healthy{backend}          gauge, the health state machine
crossfade_router_backend_ejected{backend}          gauge, ejected through the admin API
crossfade_router_backend_weight{backend}           gauge
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from crossfade.bench.metrics import NS_PER_S, ttft_ns
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.rollout.router.state import BackendState

TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
ITL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class RouterMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "crossfade_router_requests", "finished backend requests", ["backend", "outcome"],
            registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "crossfade_router_errors", "failed backend requests by kind", ["backend", "kind"],
            registry=r,
        )  # fmt: skip
        self.ttft = Histogram(
            "crossfade_router_ttft_seconds", "time to first token at the router", ["backend"],
            buckets=TTFT_BUCKETS, registry=r,
        )  # fmt: skip
        self.itl = Histogram(
            "crossfade_router_itl_seconds", "inter-token latency at the router, per token",
            ["backend"], buckets=ITL_BUCKETS, registry=r,
        )  # fmt: skip
        self.fallbacks = Counter(
            "crossfade_router_fallbacks", "requests passed to the next backend", ["from", "to"],
            registry=r,
        )  # fmt: skip
        self.client_failures = Counter(
            "crossfade_router_client_failures", "requests that failed for the client",
            ["reason"], registry=r,
        )  # fmt: skip
        self.shadow_dropped = Counter(
            "crossfade_router_shadow_dropped", "mirrors skipped: too many in flight", registry=r
        )
        self.healthy = Gauge(
            "crossfade_router_backend_healthy", "1: healthy", ["backend"], registry=r
        )
        self.ejected = Gauge(
            "crossfade_router_backend_ejected", "1: ejected by the admin", ["backend"], registry=r
        )
        self.weight = Gauge(
            "crossfade_router_backend_weight", "relative weight", ["backend"], registry=r
        )

    def watch_backend(self, backend: BackendState) -> None:
        """The gauges read the backend's state when scraped, so they are never stale."""
        name = backend.name
        self.healthy.labels(name).set_function(lambda: float(backend.health.healthy))
        self.ejected.labels(name).set_function(lambda: float(backend.ejected))
        self.weight.labels(name).set_function(lambda: backend.weight)

    def attempt(
        self, backend: str, record: RequestRecord, itl_ms: list[float], *, shadow: bool
    ) -> None:
        """Count one finished attempt; `itl_ms` are its per-token ITLs as its observation
        holds them (computed once per attempt)."""
        kind = record.error_kind
        if kind is None:
            outcome = "ok"
        elif kind is ErrorKind.CANCELLED:
            outcome = "cancelled"
        else:
            outcome = "error"
        if shadow:
            outcome = f"shadow_{'ok' if kind is None else 'error'}"
        self.requests.labels(backend, outcome).inc()
        if kind is not None:
            self.errors.labels(backend, kind.value).inc()
            return
        if (ttft := ttft_ns(record)) is not None:
            self.ttft.labels(backend).observe(ttft / NS_PER_S)
        itl = self.itl.labels(backend)
        for value in itl_ms:
            itl.observe(value / 1000.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
