"""Each backend's health: a state machine driven by request outcomes and active probes, on an
injected clock. Pure: no I/O, no sleeping; the router's loop asks `probe_due()` and reports.

- Passive ejection: `eject_after_failures` consecutive failed requests (or failed probes) take
  the backend out of rotation. A failure is the backend's fault (`counts_against`): no
  connection, a 5xx, an in-band error, a broken or timed-out stream, and the 4xx answers Triton
  gives for a dead model (`BACKEND_FAULT_TEXTS`). A 429 is back-pressure and any other 4xx the
  client's error: neither says the backend is down. An ejection schedules a probe at once.
- Return: `restore_after_successes` consecutive good probes bring it back; requests alone never
  do (only panic traffic reaches an unhealthy backend).
- The admin API's eject and restore sit above this: `reset()` is what restore does here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crossfade.bench.protocol import ErrorKind

_BACKEND_FAULTS = frozenset(
    {ErrorKind.CONNECT, ErrorKind.STREAM_ERROR, ErrorKind.TRUNCATED, ErrorKind.TIMEOUT}
    | {ErrorKind.OTHER}
)

# Triton answers some failures of the backend itself with a 4xx, so the text tells them apart
# from the request's own faults (checked in the lab: a killed vLLM stub, a dead vLLM engine, an
# unloaded model, the emulated LLM API model failing).
BACKEND_FAULT_TEXTS = (
    "is not healthy",  # python backend: "Stub process 'vllm_model_0_0' is not healthy." (400)
    "EngineCore encountered an issue",  # vLLM's EngineDeadError (400)
    "EngineDeadError",
    "Request for unknown model",  # "...: 'vllm_model' has no available versions" (404)
    # TensorRT-LLM's LLM API model wraps any failure while generating in this (400 when it
    # comes before the stream began); the router has checked the request's fields by then.
    "Error generating request",
)


def _backend_fault_text(error: str | None) -> bool:
    return error is not None and any(text in error for text in BACKEND_FAULT_TEXTS)


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    interval_s: float = 2.0
    eject_after_failures: int = 3
    restore_after_successes: int = 2


def counts_against(
    kind: ErrorKind | None, status: int | None, error: str | None = None
) -> bool | None:
    """True: the backend failed; False: it served; None: the outcome says nothing of its health
    (a 429, a 4xx, a client that left, an answer of the wrong length). A 4xx whose text is one
    of BACKEND_FAULT_TEXTS is the backend's failure."""
    if kind is None:
        return False
    if kind in _BACKEND_FAULTS:
        return True
    backend_status = status is not None and (
        status >= 500 or (status != 429 and _backend_fault_text(error))
    )
    return True if kind == ErrorKind.HTTP_STATUS and backend_status else None


def may_fall_back(kind: ErrorKind | None, status: int | None, error: str | None = None) -> bool:
    """Whether an attempt that sent nothing to the client yet may go to the next backend: no
    connection, a 429 or 5xx, a backend's failure told as a 4xx (BACKEND_FAULT_TEXTS), an
    in-band error, a timeout, or a break before any output was passed on. Any other 4xx is the
    request's fault and would fail anywhere."""
    if kind is None:
        return False
    if kind == ErrorKind.HTTP_STATUS:
        if status is None:
            return False
        return status == 429 or status >= 500 or _backend_fault_text(error)
    return kind in _BACKEND_FAULTS


class BackendHealth:
    """Healthy or not, and the streaks that decide it."""

    def __init__(self, policy: HealthPolicy, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self.healthy = True
        self.request_failures = 0  # consecutive failed requests
        self.probe_failures = 0  # consecutive failed probes
        self.good_probes = 0  # consecutive good probes since the ejection
        self.next_probe_at = clock()  # the first probe goes at once

    @property
    def consecutive_failures(self) -> int:
        return max(self.request_failures, self.probe_failures)

    def probe_due(self) -> bool:
        return self._clock() >= self.next_probe_at

    def request_done(self, failed: bool) -> None:
        if failed:
            self.request_failures += 1
            self._maybe_eject()
        elif self.healthy:
            self.request_failures = 0

    def probe_done(self, ok: bool) -> None:
        self.next_probe_at = self._clock() + self.policy.interval_s
        if not ok:
            self.probe_failures += 1
            self.good_probes = 0
            self._maybe_eject()
            return
        self.probe_failures = 0
        if not self.healthy:
            self.good_probes += 1
            if self.good_probes >= self.policy.restore_after_successes:
                self.reset()

    def reset(self) -> None:
        """Healthy, with every streak cleared."""
        self.healthy = True
        self.request_failures = self.probe_failures = self.good_probes = 0

    def _maybe_eject(self) -> None:
        if self.healthy and self.consecutive_failures >= self.policy.eject_after_failures:
            self.healthy = False
            self.good_probes = 0
            self.next_probe_at = self._clock()  # count the way back from now
