"""One canary run as the command line starts it: the plan's journal resumed (or begun), the
machine in the state it left, and the loop driven against a router's admin API.

`crossfade canary PLAN` drives a router it did not start (the plan's `router:` says where);
`crossfade route CONFIG --plan PLAN` drives the router it runs, in the same process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crossfade.rollout.canary.controller import MonotonicClock, run_canary
from crossfade.rollout.canary.journal import Journal, resume
from crossfade.rollout.canary.machine import CanaryMachine, Decision, MachineState, Phase
from crossfade.rollout.canary.router_admin import AdminApiDriver
from crossfade.spec.canary_plan import CanaryPlan


@dataclass(frozen=True)
class CanarySession:
    plan: CanaryPlan
    machine: CanaryMachine
    journal: Journal
    clock: MonotonicClock


def open_session(plan: CanaryPlan, *, restart: bool) -> CanarySession:
    """The run to continue from the plan's journal, or a new one (also with `restart`).

    Raises CanaryError when the journal's last run has ended or was for another plan."""
    clock = MonotonicClock()
    journal = Journal(plan.journal, plan)
    state = None if restart else resume(plan.journal, plan)
    if state is None:
        journal.start(clock.now())
    return CanarySession(plan, CanaryMachine(plan, state or MachineState()), journal, clock)


async def drive(
    session: CanarySession,
    admin_url: str,
    token: str,
    token_env: str,
    report: Callable[[Decision], None],
    *,
    abort: str | None = None,
) -> Phase:
    """Run the session against the router whose admin API is at `admin_url`."""
    async with AdminApiDriver(admin_url, token, token_env) as driver:
        return await run_canary(
            session.machine, driver, session.clock, session.journal, report, abort=abort
        )
