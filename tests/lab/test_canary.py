"""A canary in the lab: vLLM on Triton (incumbent) to the emulated TensorRT-LLM ensemble
(candidate) through crossfade's router, with real load. A healthy candidate is promoted; one
slowed mid-run (the emulator's timing changed through its override file) or one that starts
failing is rolled back within one evaluation interval, and the journal says why."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crossfade.rollout.canary.controller import MonotonicClock, run_canary
from crossfade.rollout.canary.journal import Journal, read_journal
from crossfade.rollout.canary.machine import Action, CanaryMachine, Decision, Phase
from crossfade.rollout.canary.plan import RouterAccess, StepTiming
from crossfade.rollout.canary.router_admin import AdminApiDriver
from crossfade.rollout.router.config import parse_router_config
from crossfade.rollout.router.server import Router
from tests.lab.conftest import LabEndpoints
from tests.rollout.canary.fakes import TOKEN, make_plan
from tests.rollout.canary.test_real_router import client_load, plan_gates

INTERVAL_S = 0.5
MIN_SAMPLES = 6
Disturb = Callable[[], None]


@pytest.fixture
def overrides(lab: LabEndpoints) -> Iterator[Path]:
    """The emulator's override file; removed afterwards, which restores its base timing."""
    path = lab.settings.emulator_overrides
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)
    time.sleep(1.5)  # the emulator polls the file about once a second


def run(
    lab: LabEndpoints,
    journal: Path,
    disturb: Disturb | None = None,
    seen: list[float] | None = None,
) -> list[Decision]:
    """The canary's decisions; `seen` gets the monotonic time each one was reported."""
    urls = {target.name: target.url for target in lab.status.targets()}
    config = parse_router_config(
        {
            "version": 1,
            "listen": {"port": 0},
            "admin": {"port": 0},
            "backends": [
                {"name": "incumbent", "target": urls["vllm-triton"], "weight": 100},
                {"name": "candidate", "target": urls["trtllm-emulated-ensemble"], "weight": 0},
            ],
        }
    )
    decisions: list[Decision] = []
    disturbed: list[bool] = []

    def report(decision: Decision) -> None:
        decisions.append(decision)
        if seen is not None:
            seen.append(time.monotonic())
        # Disturb the candidate once its first weighted step has started: clients see it.
        if disturb is not None and decision.after.step == 1 and not disturbed:
            disturbed.append(True)
            disturb()

    async def main() -> None:
        router = Router(config, TOKEN, rng=random.Random(5))
        await router.start()
        done = asyncio.Event()
        # Enough clients that a slowed candidate still finishes requests to judge it by.
        load = asyncio.create_task(client_load(router.data_port, done, concurrency=8))
        try:
            url = f"http://127.0.0.1:{router.admin_port}"
            plan = make_plan(
                str(journal),
                router=RouterAccess(admin_url=url, token_env="CANARY_TEST_TOKEN"),
                steps=["shadow", 50, 100],
                step=StepTiming(
                    min_duration_s=2, min_samples=20, max_duration_s=6, interval_s=INTERVAL_S
                ),
                gates=plan_gates().model_copy(update={"min_samples": MIN_SAMPLES}),
                on_unclear="extend",
            )
            machine, clock = CanaryMachine(plan), MonotonicClock()
            log = Journal(plan.journal, plan)
            log.start(clock.now())
            async with AdminApiDriver(url, TOKEN, "CANARY_TEST_TOKEN") as driver:
                await run_canary(machine, driver, clock, log, report)
        finally:
            done.set()
            assert await load > 0
            await router.stop()

    asyncio.run(main())
    return decisions


def test_a_healthy_emulated_candidate_is_promoted(
    lab: LabEndpoints, overrides: Path, tmp_path: Path
) -> None:
    decisions = run(lab, tmp_path / "journal.jsonl")
    assert decisions[-1].after.phase is Phase.PROMOTED, decisions[-1].reason
    steps = [d.after.step for d in decisions if d.action.value == "set_traffic"]
    assert steps == [0, 1, 2]
    entries = read_journal(tmp_path / "journal.jsonl")
    assert entries[-1]["action"] == "promote"
    assert all(e.get("reason") for e in entries[1:])  # every step says why


@pytest.mark.parametrize(
    ("change", "gate"),
    [
        ({"decode_step_ms": 120.0, "prefill_ms_per_token": 100.0}, "p95_ratio"),
        ({"fail_ratio": 1.0}, "error_rate"),
    ],
    ids=["slowed", "failing"],
)
def test_a_candidate_that_degrades_mid_run_is_rolled_back_within_an_interval(
    lab: LabEndpoints, overrides: Path, tmp_path: Path, change: dict[str, float], gate: str
) -> None:
    disturbed_at: list[float] = []
    seen: list[float] = []

    def disturb() -> None:
        overrides.write_text(json.dumps(change), encoding="utf-8")
        disturbed_at.append(time.monotonic())

    decisions = run(lab, tmp_path / "journal.jsonl", disturb, seen)
    last = decisions[-1]
    assert disturbed_at, "the canary ended before its first weighted step"
    assert last.after.phase is Phase.ROLLED_BACK, last.reason
    assert last.before.step == 1  # the step during which the candidate degraded
    assert gate in last.reason or "ejected" in last.reason, last.reason
    # Within one evaluation interval: the first evaluation whose last interval holds a
    # degraded candidate request (an error, or a TTFT the slowed emulator cannot beat) and
    # enough incumbent requests to compare with is the rollback itself. (Degraded requests
    # show only after the emulator re-read its file, about once a second, and finished.)
    after = [d for t, d in zip(seen, decisions, strict=True) if t >= disturbed_at[0]]

    def degraded(d: Decision) -> bool:
        # Judgeable: gates compare both sides in the same window, so the incumbent needs its
        # samples too (vLLM on these shared CPUs sometimes finishes fewer in one interval).
        if d.recent is None or d.recent.incumbent.requests < MIN_SAMPLES:
            return False
        recent = d.recent.candidate
        return recent.errors > 0 or (recent.ttft_p95_ms or 0) > 250

    first = next(d for d in after if degraded(d) or d.action is Action.ROLLBACK)
    assert first is last, [(d.action, d.reason) for d in after]
    assert seen[-1] - disturbed_at[0] < 8.0
    entries = read_journal(tmp_path / "journal.jsonl")
    assert entries[-1]["action"] == "rollback"
    assert entries[-1]["reason"] == last.reason
