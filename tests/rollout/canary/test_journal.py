"""The journal: what a decision line holds, reading it back, and resuming from it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from crossfade.rollout.canary.errors import CanaryError
from crossfade.rollout.canary.journal import Journal, read_journal, resume
from crossfade.rollout.canary.machine import Action, CanaryMachine, MachineState, Phase
from tests.rollout.canary.fakes import Profile, make_plan
from tests.rollout.canary.observations import window

T0 = 2000.0


def run_until(path: Path, decisions: int, cand: Profile | None = None) -> CanaryMachine:
    """A journaled run of `decisions` decisions after the start, 5 s apart."""
    plan = make_plan(str(path))
    machine, journal = CanaryMachine(plan), Journal(path, plan)
    journal.start(T0)
    journal.record(machine.start(T0))
    for i in range(1, decisions + 1):
        if machine.state.phase is not Phase.STEP:
            break
        journal.record(machine.observe(T0 + 5 * i, window(60, 60, cand, seed=i)))
    return machine


def test_a_decision_line_carries_state_traffic_and_evidence(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    run_until(path, 6)  # 30 s into the shadow step: it passes
    records = read_journal(path)
    assert [r["kind"] for r in records] == ["start"] + ["decision"] * 7
    start, first, passed = records[0], records[1], records[-1]
    assert (start["incumbent"], start["candidate"]) == ("incumbent", "candidate")
    assert start["steps"] == ["shadow", 5, 20, 50, 100]
    assert first["action"] == "set_traffic"
    assert first["traffic"] == {
        "weights": {"incumbent": 100, "candidate": 0},
        "shadow": {"backend": "candidate", "share": 1.0},
    }
    assert passed["action"] == "set_traffic"
    assert (passed["before"]["step"], passed["after"]["step"], passed["step"]) == (0, 1, "5%")
    assert passed["traffic"] == {"weights": {"incumbent": 95, "candidate": 5}, "shadow": None}
    assert passed["at"] == T0 + 30
    evidence = passed["window"]
    assert evidence["candidate"]["requests"] == 6 * 60
    gate = next(g for g in evidence["gates"] if g["name"] == "ttft_p95_ratio")
    assert gate["verdict"] == "pass"
    assert gate["limit"] == 1.5
    assert gate["low"] <= gate["value"] <= gate["high"]
    assert passed["recent"]["candidate"]["requests"] == 60


def test_resume_gives_the_last_state(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    machine = run_until(path, 8)
    state = resume(path, make_plan(str(path)))
    assert state == machine.state
    assert state is not None
    assert (state.phase, state.step) == (Phase.STEP, 1)


def test_no_journal_is_a_fresh_start_and_a_start_line_alone_is_starting(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    plan = make_plan(str(path))
    assert resume(path, plan) is None
    Journal(path, plan).start(T0)
    assert resume(path, plan) == MachineState()


@pytest.mark.parametrize(
    ("cand", "phase"), [(Profile(error_rate=0.5), "rolled_back"), (None, "promoted")]
)
def test_a_finished_run_is_final(tmp_path: Path, cand: Profile | None, phase: str) -> None:
    path = tmp_path / "j.jsonl"
    machine = run_until(path, 30, cand)
    assert machine.state.phase == phase
    with pytest.raises(CanaryError, match=f"already ended \\({phase}.*--restart"):
        resume(path, make_plan(str(path)))
    # A new start line (what --restart writes) begins a new run in the same file.
    Journal(path, make_plan(str(path))).start(T0 + 1000)
    assert resume(path, make_plan(str(path))) == MachineState()
    assert len([r for r in read_journal(path) if r["kind"] == "start"]) == 2


def test_a_journal_of_another_plan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    run_until(path, 2)
    other = make_plan(str(path), steps=[10, 100])
    with pytest.raises(CanaryError, match=r"j\.jsonl:1: .*steps \['shadow', 5, 20, 50, 100\]"):
        resume(path, other)


def test_a_line_cut_short_at_the_end_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    machine = run_until(path, 3)
    with path.open("a", encoding="utf-8") as file:
        file.write('{"kind": "decision", "at": 20')  # the process died while writing
    assert resume(path, make_plan(str(path))) == machine.state


def test_a_damaged_line_inside_is_located(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    run_until(path, 3)
    lines = path.read_text().splitlines()
    lines[2] = "not json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CanaryError, match=r"j\.jsonl:3: not a journal line"):
        resume(path, make_plan(str(path)))
    path.write_text(json.dumps({"kind": "decision", "after": {}}) + "\n")
    with pytest.raises(CanaryError, match="without a start line"):
        resume(path, make_plan(str(path)))


def test_a_journal_not_utf8_or_nested_past_the_decoder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    run_until(path, 2)
    text = path.read_bytes()
    path.write_bytes(text + b"\xff\n")
    with pytest.raises(CanaryError, match=r"j\.jsonl: not a journal \(not UTF-8 text"):
        resume(path, make_plan(str(path)))
    path.write_bytes(text + b"[" * 100_000 + b"\n" + text.splitlines(keepends=True)[-1])
    with pytest.raises(CanaryError, match=r"j\.jsonl:5: not a journal line \(nested deeper"):
        resume(path, make_plan(str(path)))


def test_a_bad_state_is_located(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    run_until(path, 1)
    record = read_journal(path)[-1]
    record.pop("_line")
    record["after"]["phase"] = "flying"
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps(record) + "\n")
    with pytest.raises(CanaryError, match=r"j\.jsonl:4: after\.phase"):
        resume(path, make_plan(str(path)))


def test_figures_without_a_value_are_written_as_null(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    plan = make_plan(str(path))
    machine = CanaryMachine(plan, MachineState(Phase.STEP, 1, T0, T0 + 60))
    decision = machine.tick(T0 + 5)  # no traffic: no rate, no percentile
    assert decision.action is Action.HOLD
    assert decision.window is not None
    assert decision.window.candidate.error_rate is None
    Journal(path, plan).record(decision)
    text = path.read_text()
    assert "NaN" not in text
    assert "Infinity" not in text
    stats = json.loads(text)["window"]["candidate"]
    assert stats["error_rate"] is None
    assert stats["ttft_p95_ms"] is None
    assert not math.isnan(json.loads(text)["at"])
