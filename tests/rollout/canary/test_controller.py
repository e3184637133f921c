"""The controller end to end over real HTTP against `FakeRouterAdmin` (a test double of the
router's admin API), with a fake clock: whole canaries in well under a second each.

Plan: steps shadow, 5, 20, 50, 100; 30 s and 50 requests a side per step, evaluated every 5 s;
the fake router sees 40 requests/s."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from crossfade.rollout.canary import router_admin
from crossfade.rollout.canary.controller import run_canary
from crossfade.rollout.canary.errors import CanaryError
from crossfade.rollout.canary.journal import Journal, read_journal, resume
from crossfade.rollout.canary.machine import CanaryMachine, Decision, MachineState, Phase
from crossfade.rollout.canary.router_admin import AdminApiDriver
from crossfade.spec.canary_plan import CanaryPlan
from tests.rollout.canary.fakes import TOKEN, FakeClock, FakeRouterAdmin, Profile, make_plan
from tests.support.ports import free_port

pytestmark = pytest.mark.servers

INTERVAL = 5.0


class Crash(Exception):
    """Stands for the controller's process dying."""


class CrashingClock(FakeClock):
    def __init__(self, crash_at: float) -> None:
        super().__init__()
        self.crash_at = crash_at

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        if self.t >= self.crash_at:
            raise Crash


def fake_router(clock: FakeClock, **kwargs: Any) -> FakeRouterAdmin:
    profiles = {"incumbent": Profile(), "candidate": Profile()}
    return FakeRouterAdmin(clock.now, profiles, **kwargs)


async def canary(
    router: FakeRouterAdmin,
    plan: CanaryPlan,
    clock: FakeClock,
    decisions: list[Decision],
    *,
    token: str = TOKEN,
    abort: str | None = None,
) -> Phase:
    """One controller run (resuming from the journal when it has a run)."""
    state = resume(plan.journal, plan)
    journal = Journal(plan.journal, plan)
    if state is None:
        journal.start(clock.now())
    machine = CanaryMachine(plan, state or MachineState())
    async with AdminApiDriver(router.admin_url, token, "CANARY_TEST_TOKEN") as driver:
        return await run_canary(machine, driver, clock, journal, decisions.append, abort=abort)


def run(router: FakeRouterAdmin, plan: CanaryPlan, clock: FakeClock, **kwargs: Any) -> Phase:
    decisions: list[Decision] = []

    async def main() -> Phase:
        await router.start()
        try:
            return await canary(router, plan, clock, decisions, **kwargs)
        finally:
            await router.stop()

    return asyncio.run(main())


def test_a_healthy_candidate_is_promoted(tmp_path: Path) -> None:
    clock = FakeClock()
    router = fake_router(clock)
    plan = make_plan(str(tmp_path / "j.jsonl"))
    assert run(router, plan, clock) is Phase.PROMOTED
    weights = [body for kind, body in router.log if kind == "weights"]
    assert weights == [
        {"incumbent": 100, "candidate": 0},
        {"incumbent": 95, "candidate": 5},
        {"incumbent": 80, "candidate": 20},
        {"incumbent": 50, "candidate": 50},
        {"incumbent": 0, "candidate": 100},
        {"incumbent": 0, "candidate": 100},
    ]
    assert router.shadow is None  # the copies to the incumbent stop at promotion
    records = read_journal(plan.journal)
    actions = [r["action"] for r in records[1:]]
    assert actions[-1] == "promote"
    assert actions.count("set_traffic") == 5
    # Each step lasted its 30 s and saw its share: at 5%, about 2 of 40 requests/s.
    changes = [r for r in records[1:] if r["action"] in ("set_traffic", "promote")]
    assert [b["at"] - a["at"] for a, b in itertools.pairwise(changes)] == [30.0] * 5
    five = changes[2]["window"]
    assert changes[2]["before"]["step"] == 1
    assert 30 < five["candidate"]["requests"] < 100 < five["incumbent"]["requests"]
    assert clock.slept
    assert max(clock.slept) <= INTERVAL


def test_a_candidate_slowed_mid_run_is_rolled_back_within_one_interval(tmp_path: Path) -> None:
    clock = FakeClock()
    slowed_at = clock.t + 3 * 30 + 12.5  # in the 50% step, between two evaluations
    router = fake_router(clock, schedule=[(slowed_at, "candidate", Profile(ttft_ms=40.0))])
    plan = make_plan(str(tmp_path / "j.jsonl"))
    assert run(router, plan, clock) is Phase.ROLLED_BACK
    records = read_journal(plan.journal)
    rollback = records[-1]
    assert rollback["action"] == "rollback"
    assert rollback["step"] == "50%"
    assert slowed_at < rollback["at"] <= slowed_at + INTERVAL
    assert records[-2]["at"] < slowed_at  # the evaluation before it saw only healthy requests
    assert "ttft_p95_ratio" in rollback["reason"]
    assert router.weights == {"incumbent": 100, "candidate": 0}
    assert router.shadow is None


def test_a_failing_candidate_is_rolled_back_within_one_interval(tmp_path: Path) -> None:
    clock = FakeClock()
    failing_at = clock.t + 2 * 30 + 7.0  # in the 20% step
    router = fake_router(clock, schedule=[(failing_at, "candidate", Profile(error_rate=0.6))])
    plan = make_plan(str(tmp_path / "j.jsonl"))
    assert run(router, plan, clock) is Phase.ROLLED_BACK
    rollback = read_journal(plan.journal)[-1]
    assert rollback["step"] == "20%"
    assert failing_at < rollback["at"] <= failing_at + INTERVAL
    assert "error_rate_delta" in rollback["reason"]
    failed = next(g for g in rollback["recent"]["gates"] if g["name"] == "error_rate_delta")
    assert failed["verdict"] == "fail"
    assert failed["value"] > plan.gates.error_rate_delta_max
    assert router.weights == {"incumbent": 100, "candidate": 0}


def test_a_candidate_the_router_ejects_is_rolled_back_within_one_interval(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    failing_at = clock.t + 3 * 30 + 2.0  # in the 50% step
    down = Profile(error_rate=1.0)
    router = fake_router(clock, eject_after=3, schedule=[(failing_at, "candidate", down)])
    plan = make_plan(str(tmp_path / "j.jsonl"))
    assert run(router, plan, clock) is Phase.ROLLED_BACK
    rollback = read_journal(plan.journal)[-1]
    assert failing_at < rollback["at"] <= failing_at + INTERVAL
    assert rollback["reason"].startswith(
        "the router's health check took candidate out of rotation after 3 consecutive failures"
    )
    assert rollback["candidate_health"]["healthy"] is False
    # Ejected, the candidate got a handful of requests: too few for the error gate alone.
    assert rollback["recent"]["candidate"]["requests"] < plan.gates.min_samples


def test_a_restarted_controller_resumes_without_rerunning_passed_steps(tmp_path: Path) -> None:
    plan = make_plan(str(tmp_path / "j.jsonl"))
    crash_at = FakeClock().t + 2 * 30 + 10  # 10 s into the 20% step
    first = CrashingClock(crash_at)
    router = fake_router(first)
    with pytest.raises(Crash):
        run(router, plan, first)
    state = resume(plan.journal, plan)
    assert state is not None
    assert (state.phase, state.step) == (Phase.STEP, 2)
    second = FakeClock(start=crash_at + 100)
    router = fake_router(second)
    assert run(router, plan, second) is Phase.PROMOTED
    # The second run's first traffic change is the 20% step's again, then 50, 100, promote.
    assert [body["candidate"] for kind, body in router.log if kind == "weights"] == [
        20, 50, 100, 100
    ]  # fmt: skip
    steps = [r["step"] for r in read_journal(plan.journal) if r.get("action") == "set_traffic"]
    assert steps == ["shadow", "5%", "20%", "20%", "50%", "100%"]


def test_observations_are_read_page_by_page(tmp_path: Path) -> None:
    clock = FakeClock()
    router = fake_router(clock, page_size=37)
    plan = make_plan(str(tmp_path / "j.jsonl"), steps=[50, 100])
    assert run(router, plan, clock) is Phase.PROMOTED
    first_step = next(r for r in read_journal(plan.journal) if r.get("step") == "100%")
    seen = (
        first_step["window"]["incumbent"]["requests"]
        + first_step["window"]["candidate"]["requests"]
    )
    assert seen == pytest.approx(30 * 40, abs=5)  # every request of the step's 30 s


def test_abort_rolls_back_at_once(tmp_path: Path) -> None:
    clock = FakeClock()
    router = fake_router(clock, weights={"incumbent": 50.0, "candidate": 50.0})
    plan = make_plan(str(tmp_path / "j.jsonl"))
    assert run(router, plan, clock, abort="operator said so") is Phase.ROLLED_BACK
    assert router.weights == {"incumbent": 100, "candidate": 0}
    assert read_journal(plan.journal)[-1]["reason"].startswith("operator said so")


def test_a_wrong_token_is_refused_with_the_variable_to_fix(tmp_path: Path) -> None:
    clock = FakeClock()
    with pytest.raises(CanaryError, match=r"refused the token in \$CANARY_TEST_TOKEN \(401\)"):
        run(fake_router(clock), make_plan(str(tmp_path / "j.jsonl")), clock, token="wrong")


def test_an_unknown_backend_is_named(tmp_path: Path) -> None:
    clock = FakeClock()
    plan = make_plan(str(tmp_path / "j.jsonl"), candidate="trtllm")
    with pytest.raises(CanaryError, match=r"no backend 'trtllm' \(it has: incumbent, candidate\)"):
        run(fake_router(clock), plan, clock)


def test_a_rollback_the_router_refuses_says_traffic_may_still_flow(tmp_path: Path) -> None:
    clock = FakeClock()
    router = fake_router(clock, schedule=[(clock.t + 12, "candidate", Profile(error_rate=0.9))])
    original = router._set_weights

    async def refuse_rollback(request: web.Request) -> web.Response:
        if (await request.json())["weights"]["incumbent"] == 100:  # the rollback
            return web.json_response({"error": "read-only"}, status=403)
        return await original(request)

    router._set_weights = refuse_rollback  # type: ignore[method-assign]
    with pytest.raises(CanaryError, match=r"could not roll back .*set its weights by hand"):
        run(router, make_plan(str(tmp_path / "j.jsonl"), steps=[50, 100]), clock)
    # Not journaled as rolled back: a rerun decides (and tries) again.
    assert resume(tmp_path / "j.jsonl", make_plan(str(tmp_path / "j.jsonl"), steps=[50, 100]))


def test_a_router_that_is_not_there_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(router_admin, "RETRY_WAIT_S", 0.0)
    url = f"http://127.0.0.1:{free_port()}"

    async def main() -> None:
        async with AdminApiDriver(url, TOKEN, "CANARY_TEST_TOKEN") as driver:
            await driver.check_backends(["incumbent"])

    with pytest.raises(CanaryError, match=rf"admin API at {url} cannot be reached .*3 attempts"):
        asyncio.run(main())
