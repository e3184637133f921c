"""The thin async loop around the canary machine: every interval, fetch the router's new
observations and the candidate's health, feed them to the machine, apply its decision, journal
it.

The clock and the router are injected (`Clock`, `RouterDriver`), so tests drive the loop with a
fake clock against a fake router; `router_admin.AdminApiDriver` is the real router's admin API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from crossfade.rollout.canary.errors import CanaryError
from crossfade.rollout.canary.journal import Journal
from crossfade.rollout.canary.machine import Action, CanaryMachine, Decision, Phase, Traffic
from crossfade.rollout.canary.observation import BackendStatus
from crossfade.rollout.router.observations import Observation

# A router that keeps paging must still let the loop decide on time.
MAX_PAGES = 100


class Clock(Protocol):
    def now(self) -> float:
        """Seconds, unix time (journaled as the decision's time)."""

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """Unix time that never jumps: the wall clock read once, then moved by the monotonic one,
    so a step's duration is not stretched or cut by a clock adjustment."""

    def __init__(self) -> None:
        self._anchor = time.time() - time.monotonic()

    def now(self) -> float:
        return self._anchor + time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class RouterDriver(Protocol):
    async def check_backends(self, names: Sequence[str]) -> None:
        """Raise CanaryError when the router does not know one of `names`."""

    async def status(self, name: str) -> BackendStatus | None:
        """The backend's health as the router sees it (None: no such backend)."""

    async def set_traffic(self, traffic: Traffic) -> None: ...

    async def observations(self, after: int) -> tuple[int, list[Observation]]:
        """The observations with seq > `after`, oldest first, and the cursor to ask after next;
        may return only a page of them."""


async def run_canary(
    machine: CanaryMachine,
    driver: RouterDriver,
    clock: Clock,
    journal: Journal,
    report: Callable[[Decision], None] = lambda decision: None,
    *,
    abort: str | None = None,
) -> Phase:
    """Run `machine` from its state to promoted, rolled back or paused; returns that phase.
    With `abort`, roll back at once with that reason instead."""
    plan = machine.plan
    await driver.check_backends([plan.incumbent, plan.candidate])
    # Sequence numbers start at 1; what the router saw before this run is not evidence.
    cursor = await _drain(driver, 0)
    decision = machine.abort(clock.now(), abort) if abort else machine.start(clock.now())
    cursor = await _apply(decision, driver, journal, report, cursor)
    interval = plan.step.interval_s
    next_at = clock.now() + interval
    while machine.state.phase is Phase.STEP:
        await clock.sleep(next_at - clock.now())
        # On an absolute schedule, so the time spent deciding does not stretch the interval.
        next_at = max(next_at + interval, clock.now())
        cursor, observations = await _fetch(driver, cursor)
        candidate = await driver.status(plan.candidate)
        # The gates' bootstrap takes tens of ms on a long window: off the loop, so a router
        # sharing it (`crossfade route --plan`) keeps forwarding, and measuring, meanwhile.
        decision = await asyncio.to_thread(machine.observe, clock.now(), observations, candidate)
        cursor = await _apply(decision, driver, journal, report, cursor)
    return machine.state.phase


async def _apply(
    decision: Decision,
    driver: RouterDriver,
    journal: Journal,
    report: Callable[[Decision], None],
    cursor: int,
) -> int:
    """Apply the decision's traffic, then journal it: a decision the router never got is not
    written down, so a resumed controller decides it again."""
    if decision.traffic is not None:
        try:
            await driver.set_traffic(decision.traffic)
        except CanaryError as exc:
            if decision.action is not Action.ROLLBACK:
                raise
            raise CanaryError(
                f"could not roll back ({decision.reason}): {exc}. The router may still send "
                "traffic to the candidate: set its weights by hand (PUT /admin/weights)"
            ) from None
        # Requests that finished before the change ran under the old split: not this step's.
        cursor = await _drain(driver, cursor)
    journal.record(decision)
    report(decision)
    return cursor


async def _fetch(driver: RouterDriver, cursor: int) -> tuple[int, list[Observation]]:
    collected: list[Observation] = []
    for _ in range(MAX_PAGES):
        cursor, page = await driver.observations(cursor)
        if not page:
            break
        collected += page
    return cursor, collected


async def _drain(driver: RouterDriver, cursor: int) -> int:
    cursor, _ = await _fetch(driver, cursor)
    return cursor
