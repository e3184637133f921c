"""A canary in the lab, run as users run it: `crossfade route CONFIG --plan PLAN` in its own
process, with real client load through its data port. A healthy candidate is promoted; one slowed
mid-run (the emulator's timing changed through its override file) or one that starts failing is
rolled back within one evaluation interval, and the journal says why. Two moves: vLLM on Triton
(incumbent) to the emulated TensorRT-LLM ensemble (candidate), and the legacy ensemble to the
emulated LLM API model (`tensorrt_llm_llmapi`), which takes no exact length: its load asks for a
cap the emulators always reach, and its plan has no length gate (no length can be checked)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from crossfade.rollout.canary.journal import read_journal
from tests.rollout.canary.fakes import TOKEN
from tests.support.canary_load import client_load
from tests.support.lab import LabEndpoints

INTERVAL_S = 1.0
MIN_SAMPLES = 8
# Not fewer: vLLM on these CPUs often sends a short answer's tokens in one or two chunks, and
# with 8 tokens its ITL p95 fell to about 0 ms in some intervals, a ratio no candidate passes.
OUTPUT_TOKENS = 16
FINAL_ACTIONS = ("promote", "rollback", "pause")
Disturb = Callable[[], None]
Record = dict[str, Any]


# Loose ratios: two CPUs run vLLM, Triton, the router and the clients at once.
COMMON_GATES = {"error_rate_delta_max": 0.05}


@dataclass(frozen=True)
class Move:
    """The lab targets a canary moves traffic between, the gates it judges by besides
    `COMMON_GATES`, and whether requests can ask for an exact length (no backend is an LLM
    API model)."""

    incumbent: str
    candidate: str
    exact: bool
    candidate_model: str  # the emulated model's name, for a per-model override
    gates: dict[str, float]
    steps: tuple[str | int, ...] = ("shadow", 50, 100)  # step 1 is the one disturbed


TO_ENSEMBLE = Move(
    "vllm-triton",
    "trtllm-emulated-ensemble",
    True,
    "tensorrt_llm_emulator",
    {"ttft_p95_ratio_max": 2.5, "itl_p95_ratio_max": 2.5, "length_mismatch_delta_max": 0.05},
)
# No length gate: no request can ask for an exact length (the router refuses ignore_eos while
# an LLM API backend is configured), so no length can be checked and the gate would stay
# unclear (`crossfade route` refuses such a plan). TPOT, not ITL: under this load the ensemble's
# three python models fall behind and its tokens reach the router in bursts (its ITL p95 is
# 0 ms in most intervals, 2 ms in others), the LLM API model's in smaller ones (about 12 ms):
# a ratio of two burst patterns, not of speeds. TPOT is the same work per token on both.
# No shadow step: mirrored, the emulated LLM API model gets every request the ensemble's six
# clients send, unpaced by its own answers, and on these two CPUs it falls behind and queues
# (TTFT about 450 ms against the ensemble's 10-20 ms in some runs, 90 ms p95 in others): a
# measure of the lab's capacity. Weighted steps give each side a share of paced clients. TTFT
# ratio 10: at 100 % the emulated LLM API model, taking all six clients in its one python
# process (prompt and text handled there, where the ensemble spreads them over three), had a
# TTFT p95 of 43-47 ms against the ensemble's 8-12 ms (ratios to 5.9); slowed, it is about 2.5 s.
TO_LLMAPI = Move(
    "trtllm-emulated-ensemble",
    "trtllm-emulated-llmapi",
    False,
    "tensorrt_llm_llmapi",
    {"ttft_p95_ratio_max": 10.0, "tpot_p95_ratio_max": 2.5},
    (25, 50, 100),
)


@pytest.fixture
def overrides(lab: LabEndpoints) -> Iterator[Path]:
    """The emulator's override file; removed afterwards, which restores its base timing."""
    path = lab.settings.emulator_overrides
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)
    time.sleep(1.5)  # the emulator polls the file about once a second


def write_files(lab: LabEndpoints, folder: Path, move: Move) -> tuple[Path, Path]:
    urls = {target.name: target.url for target in lab.status.targets()}
    config = {
        "version": 1,
        "listen": {"port": 0},
        "admin": {"port": 0, "token_env": "CANARY_TEST_TOKEN"},
        "backends": [
            {"name": "incumbent", "target": urls[move.incumbent], "weight": 100},
            {"name": "candidate", "target": urls[move.candidate], "weight": 0},
        ],
    }
    plan = {
        "version": 1,
        "incumbent": "incumbent",
        "candidate": "candidate",
        "steps": list(move.steps),
        "step": {
            "min_duration_s": 3, "min_samples": 20, "max_duration_s": 8, "interval_s": INTERVAL_S,
            "settle_s": 1,  # the burst of a traffic change: both backends stall on these CPUs
        },
        "gates": {**COMMON_GATES, **move.gates, "min_samples": MIN_SAMPLES},
        "on_unclear": "extend",
        "journal": "journal.jsonl",
    }  # fmt: skip
    config_path, plan_path = folder / "router.yaml", folder / "plan.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    plan_path.write_text(yaml.safe_dump(plan), encoding="utf-8")
    return config_path, plan_path


def decisions(journal: Path) -> list[Record]:
    return [r for r in read_journal(journal) if r["kind"] == "decision"]


def run(
    lab: LabEndpoints, folder: Path, move: Move, disturb: Disturb | None = None
) -> tuple[list[Record], str, int]:
    """The journal's decisions, the router's output and its exit status. `disturb` is called
    once the candidate's first weighted step has started (clients see it from then on)."""
    config, plan = write_files(lab, folder, move)
    journal = folder / "journal.jsonl"
    command = [sys.executable, "-m", "crossfade", "route", str(config), "--plan", str(plan)]
    env = os.environ | {"CANARY_TEST_TOKEN": TOKEN}
    router = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert router.stdout is not None
    lines = []
    for line in router.stdout:  # the first line names the data port
        lines.append(line)
        if "serving on" in line:
            break
    else:
        pytest.fail(f"the router did not start: {''.join(lines)}")
    port = int(lines[-1].rsplit(":", 1)[1])
    later: list[str] = []  # the router's output from here on, read as it comes
    reader = threading.Thread(target=lambda: later.extend(router.stdout or []), daemon=True)
    reader.start()

    async def ended() -> None:
        """The journal's last word is written before the canary's task returns: stopping the
        router then would find the canary unfinished. Its closing line says it has returned."""
        deadline = time.monotonic() + 15
        while not any(line.startswith("canary") for line in list(later)):
            assert time.monotonic() < deadline, "the canary did not report its end"
            await asyncio.sleep(0.05)

    async def drive(pending: list[Disturb]) -> None:
        done = asyncio.Event()
        # Enough clients that a slowed candidate still finishes requests to judge it by, few
        # enough that two CPUs keep up with both backends at once (8 stalled the emulator).
        load = asyncio.create_task(
            client_load(port, done, concurrency=6, tokens=OUTPUT_TOKENS, exact=move.exact)
        )
        deadline = time.monotonic() + 90
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                seen = decisions(journal)
                if pending and any(d["after"]["step"] == 1 for d in seen):
                    pending.pop()()
                if seen and seen[-1]["action"] in FINAL_ACTIONS:
                    await ended()
                    return
            pytest.fail("the canary did not end within 90 s")
        finally:
            done.set()
            assert await load > 0

    try:
        asyncio.run(drive([disturb] if disturb else []))
    finally:
        router.send_signal(signal.SIGTERM)
        router.wait(timeout=30)
        reader.join(timeout=10)
        router.stdout.close()
    return decisions(journal), "".join(lines + later), router.returncode


MOVES = pytest.mark.parametrize("move", [TO_ENSEMBLE, TO_LLMAPI], ids=["to-ensemble", "to-llmapi"])


@MOVES
def test_a_healthy_emulated_candidate_is_promoted(
    lab: LabEndpoints, overrides: Path, tmp_path: Path, move: Move
) -> None:
    made, output, status = run(lab, tmp_path, move)
    assert made[-1]["action"] == "promote", made[-1]["reason"]
    assert status == 0, output
    assert [d["after"]["step"] for d in made if d["action"] == "set_traffic"] == [0, 1, 2]
    assert all(d["reason"] for d in made)  # every step says why
    assert "canary promoted" in output


@MOVES
@pytest.mark.parametrize(
    ("change", "gate"),
    [
        ({"decode_step_ms": 120.0, "prefill_ms_per_token": 100.0}, "p95_ratio"),
        ({"fail_ratio": 1.0}, "error_rate"),
    ],
    ids=["slowed", "failing"],
)
def test_a_candidate_that_degrades_mid_run_is_rolled_back_within_an_interval(
    lab: LabEndpoints,
    overrides: Path,
    tmp_path: Path,
    move: Move,
    change: dict[str, float],
    gate: str,
) -> None:
    disturbed_at: list[float] = []

    def disturb() -> None:
        # Under the candidate model's name: the incumbent, emulated too for one move, keeps its
        # timing.
        text = json.dumps({move.candidate_model: change})
        overrides.write_text(text, encoding="utf-8")
        disturbed_at.append(time.time())

    made, output, status = run(lab, tmp_path, move, disturb)
    last = made[-1]
    assert disturbed_at, "the canary ended before its first weighted step"
    assert last["action"] == "rollback", last["reason"]
    assert status == 1, output
    assert last["before"]["step"] == 1  # the step during which the candidate degraded
    # or the router's health check took it out of rotation first (failures it counts)
    assert gate in last["reason"] or "out of rotation" in last["reason"], last["reason"]
    # Within one evaluation interval: the first evaluation whose last interval holds a
    # degraded candidate request (an error, or a TTFT the slowed emulator cannot beat) and
    # enough incumbent requests to compare with is the rollback itself. (Degraded requests
    # show only after the emulator re-read its file, about once a second, and finished.)
    after = [d for d in made if d["at"] >= disturbed_at[0]]

    def degraded(d: Record) -> bool:
        # Judgeable: the gates need `MIN_SAMPLES` requests on each side of the interval (vLLM
        # on these shared CPUs, or a slowed candidate, sometimes finishes fewer in one).
        recent = d["recent"]
        sides = () if recent is None else (recent["incumbent"], recent["candidate"])
        if not sides or min(side["requests"] for side in sides) < MIN_SAMPLES:
            return False
        candidate = recent["candidate"]
        return candidate["errors"] > 0 or (candidate["ttft_p95_ms"] or 0) > 250

    first = next(d for d in after if degraded(d) or d["action"] == "rollback")
    assert first is last, [(d["action"], d["reason"]) for d in after]
    # `first is last` is the property: the rollback is the first evaluation that could judge the
    # degraded candidate. This bound only catches a canary that stalls: a slowed request takes
    # about 2.5 s (16 steps of 120 ms after a slowed prefill), after the emulator's next read of
    # its file (about 1 s), and a judgeable interval needs enough finished requests on both
    # sides, which on a loaded 2-core runner took 14 s once (12 s was the bound then).
    assert last["at"] - disturbed_at[0] < 30.0
