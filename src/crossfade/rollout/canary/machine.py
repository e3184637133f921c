"""The canary's decisions as a sans-IO state machine: observations and the time in, a Decision out.

    STARTING --start--> STEP(0) --passed--> STEP(1) ... STEP(last) --passed--> PROMOTED
    STEP(i) --a gate failed, or the router ejected the candidate--> ROLLED_BACK
                                                    (at once; incumbent 100, candidate 0)
    STEP(i) --unclear at the deadline--> STEP(i) extended, or PAUSED (traffic left as it is)
    STEP(i) / PAUSED(i) --start (a resumed controller)--> STEP(i), its window begun afresh

Each evaluation holds the gates to two windows: the whole step so far (which must pass for the
step to pass) and the last interval's observations (which can only fail it, so a candidate that
degrades mid-step is rolled back on the first evaluation after, not diluted by its good past).
A step passes once it has run `min_duration_s`, has `step.min_samples` requests on each side
and every gate of the step window passes (each gate with `gates.min_samples` values a side at
least, which the plan keeps at or below `step.min_samples`). Requests that finished within
`settle_s` of the step's start are left out of both windows. The machine does no IO and reads
no clock: the caller passes `now` and the new observations (see `controller.py`), which is what
makes every transition testable with a fake clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from crossfade.rollout.canary.gates import Verdict, WindowReport, evaluate_window
from crossfade.rollout.canary.observation import BackendStatus
from crossfade.rollout.router.observations import Observation
from crossfade.spec.canary_plan import CanaryPlan, step_label


class Phase(StrEnum):
    STARTING = "starting"
    STEP = "step"
    PAUSED = "paused"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"


FINAL = frozenset({Phase.PROMOTED, Phase.ROLLED_BACK})


class Action(StrEnum):
    SET_TRAFFIC = "set_traffic"
    HOLD = "hold"
    EXTEND = "extend"
    PAUSE = "pause"
    ROLLBACK = "rollback"
    PROMOTE = "promote"


@dataclass(frozen=True)
class Traffic:
    """What the router should do: relative weights, and which backend gets a copy of requests."""

    weights: Mapping[str, int]
    shadow_backend: str | None = None
    shadow_share: float = 0.0


@dataclass(frozen=True)
class MachineState:
    phase: Phase = Phase.STARTING
    step: int | None = None  # index into plan.steps
    step_started_at: float | None = None
    deadline: float | None = None
    extensions: int = 0


@dataclass(frozen=True)
class Decision:
    """One decision with the evidence behind it; `traffic` is what to apply, None to leave it."""

    at: float
    action: Action
    before: MachineState
    after: MachineState
    reason: str
    traffic: Traffic | None = None
    window: WindowReport | None = None  # the step so far
    recent: WindowReport | None = None  # the last interval
    candidate: BackendStatus | None = None  # its health in the router, when it was read


class CanaryStateError(Exception):
    """The machine was asked for something its phase does not allow (a bug in the caller)."""


@dataclass
class CanaryMachine:
    plan: CanaryPlan
    state: MachineState = field(default_factory=MachineState)
    seed: int = 0
    _window: list[Observation] = field(default_factory=list, init=False, repr=False)
    _candidate: BackendStatus | None = field(default=None, init=False, repr=False)

    def traffic_for(self, step: int) -> Traffic:
        plan, percent = self.plan, self.plan.steps[step]
        if not isinstance(percent, int):  # shadow
            return Traffic({plan.incumbent: 100, plan.candidate: 0}, plan.candidate, 1.0)
        if percent == 100:  # the incumbent gets the copies: the last step is compared too
            return Traffic({plan.incumbent: 0, plan.candidate: 100}, plan.incumbent, 1.0)
        return Traffic({plan.incumbent: 100 - percent, plan.candidate: percent})

    def start(self, now: float) -> Decision:
        """Enter the first step, or (resumed from a journal, or after a pause) enter the
        recorded step again with a fresh window; passed steps are not run again."""
        phase, step = self.state.phase, self.state.step
        if phase in FINAL:
            raise CanaryStateError(f"the canary is already {phase}")
        self._candidate = None
        if phase is Phase.STARTING:
            return self._enter(now, 0, "started")
        assert step is not None
        how = "resumed after a pause" if phase is Phase.PAUSED else "resumed"
        return self._enter(now, step, f"{how}; the step's window starts again")

    def abort(self, now: float, reason: str) -> Decision:
        if self.state.phase in FINAL:
            raise CanaryStateError(f"the canary is already {self.state.phase}")
        self._candidate = None
        return self._rollback(now, reason, None, None)

    def tick(self, now: float) -> Decision:
        """An evaluation with no new observations (only the time moved)."""
        return self.observe(now, ())

    def observe(
        self,
        now: float,
        observations: Sequence[Observation],
        candidate: BackendStatus | None = None,
    ) -> Decision:
        """Evaluate the step with `observations` (those new since the last call) and, when
        given, the candidate's health in the router."""
        if self.state.phase is not Phase.STEP:
            raise CanaryStateError(f"nothing to observe while {self.state.phase}")
        state, plan, self._candidate = self.state, self.plan, candidate
        assert state.step is not None
        assert state.step_started_at is not None
        assert state.deadline is not None
        settle = plan.step.settle_s
        if settle:  # finished while the backends were still taking up this step's split
            settled = state.step_started_at + settle
            observations = [o for o in observations if o.end_unix >= settled]
        self._window.extend(observations)
        window = self._evaluate(self._window)
        recent = self._evaluate(observations) if observations else None
        if candidate and not candidate.in_rotation and plan.gates.rollback_when_ejected:
            # Out of rotation it gets (almost) no traffic: its gates would starve, not fail.
            return self._rollback(now, candidate.describe(), window, recent)
        for report, where in ((window, "in this step"), (recent, "in the last interval")):
            if report is not None and report.verdict is Verdict.FAIL:
                failed = "; ".join(g.describe() for g in report.with_verdict(Verdict.FAIL))
                return self._rollback(now, f"{failed} {where}", window, recent)

        elapsed = now - state.step_started_at
        waiting = []
        if elapsed < plan.step.min_duration_s:
            waiting.append(f"{elapsed:.1f} of {plan.step.min_duration_s:g} s")
        for side, stats in (("incumbent", window.incumbent), ("candidate", window.candidate)):
            if stats.requests < plan.step.min_samples:
                needed = plan.step.min_samples
                waiting.append(f"{side} {stats.requests} of {needed} requests (step.min_samples)")
        unclear = _unclear(window)
        if not waiting and not unclear:
            return self._passed(now, window, recent)
        if now < state.deadline:
            reason = "; ".join([*waiting, *(f"unclear: {u}" for u in unclear)])
            return self._decide(now, Action.HOLD, state, f"waiting: {reason}", window, recent)
        why = "; ".join([*waiting, *unclear])
        if plan.on_unclear == "extend" and state.extensions < plan.step.max_extensions:
            after = replace(
                state,
                deadline=state.deadline + plan.step.max_duration_s,
                extensions=state.extensions + 1,
            )
            reason = (
                f"unclear at the deadline ({why}); extension {after.extensions} of "
                f"{plan.step.max_extensions}, another {plan.step.max_duration_s:g} s"
            )
            return self._decide(now, Action.EXTEND, after, reason, window, recent)
        after = replace(state, phase=Phase.PAUSED)
        reason = (
            f"unclear at the deadline ({why}); paused for a person, traffic left as it is: run "
            "again to evaluate this step afresh, or --abort to roll back"
        )
        return self._decide(now, Action.PAUSE, after, reason, window, recent)

    def _evaluate(self, observations: Sequence[Observation]) -> WindowReport:
        plan = self.plan
        return evaluate_window(observations, plan.incumbent, plan.candidate, plan.gates, self.seed)

    def _passed(self, now: float, window: WindowReport, recent: WindowReport | None) -> Decision:
        step = self.state.step
        assert step is not None
        done = f"step {step + 1} ({step_label(self.plan.steps[step])}) passed"
        if step + 1 < len(self.plan.steps):
            return self._enter(now, step + 1, done, window, recent)
        traffic = Traffic({self.plan.incumbent: 0, self.plan.candidate: 100})
        after = MachineState(Phase.PROMOTED, step)
        reason = f"{done}: every step passed; {self.plan.candidate} takes all traffic"
        return self._decide(now, Action.PROMOTE, after, reason, window, recent, traffic)

    def _enter(
        self,
        now: float,
        step: int,
        why: str,
        window: WindowReport | None = None,
        recent: WindowReport | None = None,
    ) -> Decision:
        self._window = []
        after = MachineState(Phase.STEP, step, now, now + self.plan.step.max_duration_s)
        label = step_label(self.plan.steps[step])
        reason = f"{why}; step {step + 1} of {len(self.plan.steps)}: {label}"
        traffic = self.traffic_for(step)
        return self._decide(now, Action.SET_TRAFFIC, after, reason, window, recent, traffic)

    def _rollback(
        self, now: float, why: str, window: WindowReport | None, recent: WindowReport | None
    ) -> Decision:
        traffic = Traffic({self.plan.incumbent: 100, self.plan.candidate: 0})
        after = replace(self.state, phase=Phase.ROLLED_BACK)
        reason = f"{why}; {self.plan.incumbent} takes all traffic again"
        return self._decide(now, Action.ROLLBACK, after, reason, window, recent, traffic)

    def _decide(
        self,
        now: float,
        action: Action,
        after: MachineState,
        reason: str,
        window: WindowReport | None,
        recent: WindowReport | None,
        traffic: Traffic | None = None,
    ) -> Decision:
        before, self.state = self.state, after
        return Decision(
            now, action, before, after, reason, traffic, window, recent, self._candidate
        )


def _unclear(report: WindowReport) -> list[str]:
    """The unclear gates, those with the same reason named together."""
    by_note: dict[str, list[str]] = {}
    for gate in report.with_verdict(Verdict.UNCLEAR):
        by_note.setdefault(gate.note, []).append(gate.name)
    return [f"{', '.join(names)} ({note})" for note, names in by_note.items()]
