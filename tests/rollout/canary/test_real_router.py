"""The controller against the real router (crossfade.rollout.router, in-process, real sockets)
in front of ground-truth servers (their own processes, known TTFT and ITL), with real load
through the router's data port and the real clock: a slower candidate is rolled back, an equal
one promoted."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossfade.lab.processes import stop
from crossfade.rollout.canary.controller import MonotonicClock, run_canary
from crossfade.rollout.canary.journal import Journal, read_journal
from crossfade.rollout.canary.machine import CanaryMachine, Decision, Phase
from crossfade.rollout.canary.router_admin import AdminApiDriver
from crossfade.rollout.router.config import parse_router_config
from crossfade.rollout.router.server import Router
from crossfade.spec.canary_plan import Gates, RouterAccess, StepTiming
from tests.rollout.canary.fakes import TOKEN, make_plan
from tests.support.canary_load import client_load
from tests.support.groundtruth import GroundTruth, start_groundtruth
from tests.support.ports import free_port

pytestmark = pytest.mark.servers

TOKENS = 8


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, GroundTruth]]:
    timings = {"incumbent": (20.0, 5.0), "twin": (20.0, 5.0), "slow": (100.0, 25.0)}
    started: dict[str, GroundTruth] = {}
    try:
        for name, (ttft, itl) in timings.items():
            folder = tmp_path_factory.mktemp(name)
            started[name] = start_groundtruth(folder, free_port(), ttft_ms=ttft, itl_ms=itl)
        yield started
    finally:
        for server in started.values():
            stop(server.process, grace_s=5)


def plan_gates() -> Gates:
    return Gates(
        ttft_p95_ratio_max=2.5,
        itl_p95_ratio_max=2.5,
        tpot_p95_ratio_max=2.5,
        error_rate_delta_max=0.05,
        length_mismatch_delta_max=0.05,
    )


def canary(incumbent: GroundTruth, candidate: GroundTruth, journal: Path) -> list[Decision]:
    config = parse_router_config(
        {
            "version": 1,
            "listen": {"port": 0},
            "admin": {"port": 0},
            "backends": [
                {"name": "incumbent", "target": incumbent.target, "weight": 100},
                {"name": "candidate", "target": candidate.target, "weight": 0},
            ],
        }
    )
    decisions: list[Decision] = []

    async def main() -> None:
        router = Router(config, TOKEN, rng=random.Random(3))
        await router.start()
        done = asyncio.Event()
        load = asyncio.create_task(client_load(router.data_port, done))
        try:
            url = f"http://127.0.0.1:{router.admin_port}"
            plan = make_plan(
                str(journal),
                router=RouterAccess(admin_url=url, token_env="CANARY_TEST_TOKEN"),
                steps=["shadow", 50, 100],
                step=StepTiming(
                    min_duration_s=1.5, min_samples=40, max_duration_s=3, interval_s=0.25
                ),
                # Two CPUs shared with other tests: event-loop stalls put outliers in both
                # sides' TTFT tails, so the limit is looser than a real plan's.
                gates=plan_gates(),
                on_unclear="extend",
            )
            machine, clock = CanaryMachine(plan), MonotonicClock()
            log = Journal(plan.journal, plan)
            log.start(clock.now())
            async with AdminApiDriver(url, TOKEN, "CANARY_TEST_TOKEN") as driver:
                await run_canary(machine, driver, clock, log, decisions.append)
        finally:
            done.set()
            assert await load > 0
            await router.stop()

    asyncio.run(main())
    return decisions


def test_a_slower_candidate_is_rolled_back(servers: dict[str, GroundTruth], tmp_path: Path) -> None:
    decisions = canary(servers["incumbent"], servers["slow"], tmp_path / "j.jsonl")
    last = decisions[-1]
    assert last.after.phase is Phase.ROLLED_BACK
    assert last.before.step == 0  # caught in the shadow step: no client ever saw it
    assert any(f"{m}_p95_ratio" in last.reason for m in ("ttft", "itl", "tpot")), last.reason
    assert last.window is not None
    ttft = (last.window.candidate.ttft_p95_ms, last.window.incumbent.ttft_p95_ms)
    assert ttft[0] is not None
    assert ttft[1] is not None
    assert ttft[0] > ttft[1]  # 100 ms against 20 ms, plus whatever the shared CPUs add
    tpot = (last.window.candidate.tpot_p95_ms, last.window.incumbent.tpot_p95_ms)
    assert tpot[0] is not None
    assert tpot[1] is not None
    assert tpot[0] > tpot[1]  # 25 ms a token against 5
    assert read_journal(tmp_path / "j.jsonl")[-1]["action"] == "rollback"


def test_an_equal_candidate_is_promoted(servers: dict[str, GroundTruth], tmp_path: Path) -> None:
    decisions = canary(servers["incumbent"], servers["twin"], tmp_path / "j.jsonl")
    assert decisions[-1].after.phase is Phase.PROMOTED, decisions[-1].reason
    steps = [d.after.step for d in decisions if d.action.value == "set_traffic"]
    assert steps == [0, 1, 2]
    passed = [d.window for d in decisions if d.action.value in ("set_traffic", "promote")][1:]
    for window in passed:
        assert window is not None
        assert window.candidate.length_checked > 0
        assert window.candidate.length_mismatches == 0
        assert window.candidate.requests >= 40
