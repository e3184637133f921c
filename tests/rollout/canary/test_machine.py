"""Every transition of the canary machine, driven with explicit times (a fake clock).

Plan: steps shadow, 5, 20, 50, 100; a step needs 30 s and 50 requests a side, its deadline is
60 s; gates TTFT/ITL p95 ratio <= 1.5, error and length-mismatch deltas <= 0.05."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crossfade.rollout.canary.machine import (
    Action,
    CanaryMachine,
    CanaryStateError,
    MachineState,
    Phase,
    Traffic,
)
from crossfade.rollout.canary.observation import BackendStatus
from crossfade.rollout.router.observations import Observation
from crossfade.spec.canary_plan import Gates, Slo
from tests.rollout.canary.fakes import Profile, make_plan
from tests.rollout.canary.observations import observations, window

PLAN = make_plan()
T0 = 1000.0


def at_step(step: int, plan=PLAN, **state) -> CanaryMachine:  # type: ignore[no-untyped-def]
    fields = {"step_started_at": T0, "deadline": T0 + plan.step.max_duration_s} | state
    return CanaryMachine(plan, MachineState(Phase.STEP, step, **fields))


HEALTHY = window(300, 300)
SLOW_TTFT = Profile(ttft_ms=40.0)
SLOW_ITL = Profile(itl_ms=10.0)
FAILING = Profile(error_rate=0.3)
SHORT = Profile(short_rate=0.3)


# (case, step, seconds into the step, observations, action, phase after, step after, in reason)
TRANSITIONS = [
    ("passes: time, samples, gates", 1, 30, HEALTHY, Action.SET_TRAFFIC, Phase.STEP, 2, "passed"),
    ("too short", 1, 29, HEALTHY, Action.HOLD, Phase.STEP, 1, "29.0 of 30 s"),
    ("too few candidate requests", 1, 35, window(300, 40), Action.HOLD, Phase.STEP, 1,
     "candidate 40 of 50 requests"),
    ("too few incumbent requests", 1, 35, window(10, 300), Action.HOLD, Phase.STEP, 1,
     "incumbent 10 of 50 requests"),
    ("TTFT ratio fails", 1, 5, window(300, 300, SLOW_TTFT), Action.ROLLBACK, Phase.ROLLED_BACK,
     1, "ttft_p95_ratio"),
    ("ITL ratio fails", 2, 5, window(300, 300, SLOW_ITL), Action.ROLLBACK, Phase.ROLLED_BACK, 2,
     "itl_p95_ratio"),
    ("error rate fails", 3, 5, window(300, 300, FAILING), Action.ROLLBACK, Phase.ROLLED_BACK, 3,
     "error_rate_delta"),
    ("length mismatch fails", 0, 5, window(300, 300, SHORT), Action.ROLLBACK, Phase.ROLLED_BACK,
     0, "length_mismatch_delta"),
    ("last step passes: promote", 4, 30, HEALTHY, Action.PROMOTE, Phase.PROMOTED, 4,
     "every step passed"),
    ("failing on the last step", 4, 10, window(300, 300, FAILING), Action.ROLLBACK,
     Phase.ROLLED_BACK, 4, "error_rate_delta"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("step", "seconds", "seen", "action", "phase", "step_after", "why"),
    [row[1:] for row in TRANSITIONS],
    ids=[row[0] for row in TRANSITIONS],
)
def test_transition(
    step: int,
    seconds: float,
    seen: list[Observation],
    action: Action,
    phase: Phase,
    step_after: int,
    why: str,
) -> None:
    machine = at_step(step)
    decision = machine.observe(T0 + seconds, seen)
    assert (decision.action, decision.after.phase, decision.after.step) == (
        action,
        phase,
        step_after,
    )
    assert why in decision.reason
    assert machine.state == decision.after
    assert decision.before.step == step
    assert decision.window is not None  # the evidence travels with the decision
    assert decision.window.candidate.requests == sum(o.backend == "candidate" for o in seen)


def test_start_enters_the_shadow_step() -> None:
    machine = CanaryMachine(PLAN)
    decision = machine.start(T0)
    assert decision.action is Action.SET_TRAFFIC
    assert decision.before.phase is Phase.STARTING
    assert decision.after == MachineState(Phase.STEP, 0, T0, T0 + 60)
    assert decision.traffic == Traffic({"incumbent": 100, "candidate": 0}, "candidate", 1.0)


def test_traffic_of_each_step() -> None:
    machine = CanaryMachine(PLAN)
    assert machine.traffic_for(1) == Traffic({"incumbent": 95, "candidate": 5})
    assert machine.traffic_for(3) == Traffic({"incumbent": 50, "candidate": 50})
    # At 100 the incumbent gets the copies, so the last step is compared too.
    assert machine.traffic_for(4) == Traffic({"incumbent": 0, "candidate": 100}, "incumbent", 1.0)


def test_passing_sets_the_next_steps_traffic_and_a_fresh_window() -> None:
    machine = at_step(2)
    decision = machine.observe(T0 + 30, HEALTHY)
    assert decision.traffic == Traffic({"incumbent": 50, "candidate": 50})
    assert decision.after == MachineState(Phase.STEP, 3, T0 + 30, T0 + 90)
    # The new step counts only what it sees itself: 20 a side is too few.
    held = machine.observe(T0 + 70, window(20, 20))
    assert held.action is Action.HOLD
    assert held.window is not None
    assert held.window.candidate.requests == 20


def test_samples_add_up_across_evaluations() -> None:
    machine = at_step(1)
    assert machine.observe(T0 + 10, window(30, 30, seed=1)).action is Action.HOLD
    assert machine.observe(T0 + 20, window(30, 30, seed=2)).action is Action.HOLD
    decision = machine.observe(T0 + 30, window(30, 30, seed=3))
    assert decision.action is Action.SET_TRAFFIC
    assert decision.window is not None
    assert decision.window.candidate.requests == 90


def test_a_failure_in_the_last_interval_rolls_back_though_the_step_is_diluted() -> None:
    machine = at_step(3)
    machine.observe(T0 + 5, window(2000, 2000, seed=1))
    decision = machine.observe(T0 + 10, window(60, 60, SLOW_TTFT, seed=2))
    assert decision.action is Action.ROLLBACK
    assert "in the last interval" in decision.reason
    assert decision.window is not None
    assert decision.window.verdict.value != "fail"  # 60 slow among 2060: the step hides it


def test_rollback_sends_everything_to_the_incumbent_and_stops_copies() -> None:
    decision = at_step(0).observe(T0 + 5, window(300, 300, FAILING))
    assert decision.traffic == Traffic({"incumbent": 100, "candidate": 0})
    assert "incumbent takes all traffic" in decision.reason


def test_promote_sends_everything_to_the_candidate() -> None:
    decision = at_step(4).observe(T0 + 30, HEALTHY)
    assert decision.traffic == Traffic({"incumbent": 0, "candidate": 100})


@pytest.mark.parametrize(
    ("slo", "slow", "name"),
    [
        (Slo(ttft_p99_ms=30.0), Profile(ttft_ms=40.0), "ttft_p99_ms"),
        (Slo(itl_p99_ms=8.0), Profile(itl_ms=10.0), "itl_p99_ms"),
    ],
)
def test_an_absolute_slo_fails_even_when_the_incumbent_is_as_slow(
    slo: Slo, slow: Profile, name: str
) -> None:
    gates = Gates(ttft_p95_ratio_max=1.5, itl_p95_ratio_max=1.5, error_rate_delta_max=0.05, slo=slo)
    machine = at_step(2, plan=make_plan(gates=gates))
    decision = machine.observe(T0 + 5, window(300, 300, slow, slow))
    assert decision.action is Action.ROLLBACK
    assert name in decision.reason


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (BackendStatus(name="candidate", healthy=False, consecutive_failures=3),
         "the router's health check took candidate out of rotation after 3 consecutive"),
        (BackendStatus(name="candidate", ejected=True), "an operator ejected candidate"),
    ],
)  # fmt: skip
def test_a_candidate_out_of_rotation_is_rolled_back(status: BackendStatus, why: str) -> None:
    machine = at_step(2)
    decision = machine.observe(T0 + 5, window(300, 3), status)
    assert decision.action is Action.ROLLBACK
    assert decision.reason.startswith(why)
    assert decision.candidate == status


def test_ejection_can_be_left_to_the_gates() -> None:
    gates = PLAN.gates.model_copy(update={"rollback_when_ejected": False})
    machine = at_step(2, plan=make_plan(gates=gates))
    status = BackendStatus(name="candidate", healthy=False, consecutive_failures=3)
    assert machine.observe(T0 + 5, window(300, 3), status).action is Action.HOLD
    healthy = BackendStatus(name="candidate")
    assert at_step(2).observe(T0 + 5, window(300, 300), healthy).action is Action.HOLD


def test_unclear_at_the_deadline_pauses() -> None:
    machine = at_step(1)
    machine.observe(T0 + 30, window(300, 10))
    decision = machine.tick(T0 + 60)
    assert decision.action is Action.PAUSE
    assert decision.after.phase is Phase.PAUSED
    assert decision.traffic is None  # left as it is, for a person
    assert "candidate 10 of 50 requests" in decision.reason


def test_unclear_at_the_deadline_extends_then_pauses() -> None:
    machine = at_step(1, plan=make_plan(on_unclear="extend"))
    first = machine.tick(T0 + 60)
    assert first.action is Action.EXTEND
    assert (first.after.deadline, first.after.extensions) == (T0 + 120, 1)
    assert machine.tick(T0 + 90).action is Action.HOLD
    last = machine.tick(T0 + 120)
    assert last.action is Action.PAUSE


def test_an_interval_straddling_the_limit_is_unclear() -> None:
    # The candidate's TTFTs are the incumbent's x 1.5, against a limit of 1.5: the point is
    # on the limit, so the interval straddles it, neither pass nor fail.
    incumbent = observations("incumbent", 300)
    candidate = [replace(o, backend="candidate", ttft_ms=1.5 * (o.ttft_ms or 0)) for o in incumbent]
    machine = at_step(1)
    decision = machine.observe(T0 + 30, incumbent + candidate)
    assert decision.action is Action.HOLD
    assert "unclear: ttft_p95_ratio" in decision.reason


def test_no_traffic_holds_until_the_deadline() -> None:
    machine = at_step(1)
    decision = machine.tick(T0 + 40)
    assert decision.action is Action.HOLD
    assert "candidate 0 of 50" in decision.reason
    assert machine.tick(T0 + 60).action is Action.PAUSE


@pytest.mark.parametrize("phase", [Phase.STEP, Phase.PAUSED])
def test_resume_enters_the_recorded_step_afresh(phase: Phase) -> None:
    state = MachineState(phase, 2, T0, T0 + 120, extensions=1)
    machine = CanaryMachine(PLAN, state)
    decision = machine.start(T0 + 500)
    assert decision.action is Action.SET_TRAFFIC
    assert decision.after == MachineState(Phase.STEP, 2, T0 + 500, T0 + 560)
    assert decision.traffic == machine.traffic_for(2)
    assert "resumed" in decision.reason


@pytest.mark.parametrize("phase", [Phase.PROMOTED, Phase.ROLLED_BACK])
def test_a_final_state_starts_nothing(phase: Phase) -> None:
    machine = CanaryMachine(PLAN, MachineState(phase, 4))
    with pytest.raises(CanaryStateError):
        machine.start(T0)
    with pytest.raises(CanaryStateError):
        machine.abort(T0, "late")


@pytest.mark.parametrize("phase", [Phase.STARTING, Phase.PAUSED, Phase.PROMOTED])
def test_observing_outside_a_step_is_a_caller_bug(phase: Phase) -> None:
    with pytest.raises(CanaryStateError):
        CanaryMachine(PLAN, MachineState(phase, 1)).observe(T0, [])


def test_abort_rolls_back_from_a_step() -> None:
    machine = at_step(2)
    decision = machine.abort(T0 + 3, "aborted by the operator")
    assert decision.action is Action.ROLLBACK
    assert decision.after == replace(decision.before, phase=Phase.ROLLED_BACK)
    assert decision.traffic == Traffic({"incumbent": 100, "candidate": 0})


def test_a_whole_run_with_a_fake_clock() -> None:
    machine = CanaryMachine(PLAN)
    now = T0
    actions = [machine.start(now).action]
    while machine.state.phase is Phase.STEP:
        now += 5
        actions.append(machine.observe(now, window(60, 60, seed=int(now))).action)
    assert machine.state.phase is Phase.PROMOTED
    assert actions.count(Action.SET_TRAFFIC) == 5  # start, then four steps passed
    assert actions.count(Action.HOLD) == 5 * 5  # 5 s .. 25 s of each step
    assert now == T0 + 5 * 30


def test_requests_that_finish_while_a_step_settles_are_not_evidence() -> None:
    """With step.settle_s, what finished in the first seconds after a traffic change (a slow
    candidate's cold start, requests of the old split) is left out of both windows."""
    timing = PLAN.step.model_copy(update={"settle_s": 5.0})
    plan = PLAN.model_copy(update={"step": timing})
    early = [replace(o, end_unix=T0 + 4.9) for o in window(300, 300, SLOW_ITL)]
    machine = at_step(1, plan)
    held = machine.observe(T0 + 5, early)
    assert held.action is Action.HOLD  # no rollback: the slow requests settled out
    assert held.window is not None
    assert held.window.candidate.requests == 0
    later = [replace(o, end_unix=T0 + 5.0) for o in window(300, 300, SLOW_ITL, seed=1)]
    failed = machine.observe(T0 + 10, later)
    assert failed.action is Action.ROLLBACK  # from settle_s on, they count
    assert "itl_p95_ratio" in failed.reason


def test_a_pause_for_too_few_samples_names_the_field_that_asks_for_them() -> None:
    # One rule (the plan refuses step.min_samples below gates.min_samples): a step waits for
    # requests by step.min_samples, and a gate for its values by gates.min_samples; a failed
    # request gives a gate no latency, so the two counts can differ, and each says which it is.
    plan = make_plan(step=PLAN.step.model_copy(update={"min_samples": 20}))
    machine = at_step(1, plan=plan)
    failed = Profile(error_rate=1.0)
    seen = window(19, 19) + window(6, 6, failed, failed, seed=9)  # 25 requests a side
    machine.observe(T0 + 30, seen)
    decision = machine.tick(T0 + 60)
    assert decision.action is Action.PAUSE
    assert "requests (step.min_samples)" not in decision.reason  # 25 a side: enough requests
    assert "too few TTFT values: candidate 19, incumbent 19 (gates.min_samples is 20)" in (
        decision.reason
    )
