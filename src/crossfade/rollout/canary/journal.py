"""The canary journal: append-only JSONL, one line per decision with the evidence behind it.

    {"kind": "start", "at": ..., "incumbent": ..., "candidate": ..., "steps": [...], "gates": ...}
    {"kind": "decision", "at": ..., "action": "hold", "step": "20%", "reason": "...",
     "before": {state}, "after": {state}, "traffic": {...} | null,
     "window": {incumbent, candidate, gates} | null, "recent": ... | null,
     "candidate_health": {name, healthy, ejected, consecutive_failures} | null}

`at` is unix time in seconds. A journal may hold several runs: each begins with a start line
(`--restart` appends one), and only the last run counts when resuming. A run that ended
promoted or rolled back is final. Each line is flushed and synced before the next decision, so
a controller killed at any point resumes from the last decision it took.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crossfade.rollout.canary.errors import CanaryError
from crossfade.rollout.canary.gates import WindowReport
from crossfade.rollout.canary.machine import FINAL, Decision, MachineState, Phase, Traffic
from crossfade.saved import parse_json
from crossfade.spec.base import StrictModel
from crossfade.spec.canary_plan import CanaryPlan, step_label


class _State(StrictModel):
    """A journaled MachineState, validated on the way back in."""

    phase: Phase
    step: int | None = None
    step_started_at: float | None = None
    deadline: float | None = None
    extensions: int = 0


class Journal:
    """Appends `plan`'s run to the journal at `path` (its folder is created)."""

    def __init__(self, path: Path, plan: CanaryPlan) -> None:
        self.path, self.plan = path, plan

    def start(self, at: float) -> None:
        plan = self.plan
        self._append(
            {
                "kind": "start",
                "at": at,
                "incumbent": plan.incumbent,
                "candidate": plan.candidate,
                "steps": plan.steps,
                "step_timing": plan.step.model_dump(),
                "gates": plan.gates.model_dump(),
                "on_unclear": plan.on_unclear,
            }
        )

    def record(self, decision: Decision) -> None:
        plan = self.plan
        step = decision.after.step if decision.after.step is not None else decision.before.step
        health = decision.candidate
        self._append(
            {
                "kind": "decision",
                "at": decision.at,
                "action": decision.action.value,
                "step": None if step is None else step_label(plan.steps[step]),
                "reason": decision.reason,
                "before": asdict(decision.before),
                "after": asdict(decision.after),
                "traffic": _traffic(decision.traffic),
                "window": _report(decision.window),
                "recent": _report(decision.recent),
                "candidate_health": health and health.model_dump(),
            }
        )

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(_finite(record), allow_nan=False) + "\n"
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete record; a last line cut short (a crash while writing) is dropped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except UnicodeDecodeError as exc:
        raise CanaryError(f"{path}: not a journal (not UTF-8 text: {exc.reason})") from None
    records = []
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = parse_json(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):  # no newline after it: never finished
                break
            raise CanaryError(f"{path}:{number}: not a journal line ({exc.msg})") from None
        if not isinstance(record, dict) or record.get("kind") not in ("start", "decision"):
            raise CanaryError(f"{path}:{number}: not a journal line (no kind start/decision)")
        records.append(record | {"_line": number})
    return records


def resume(path: Path, plan: CanaryPlan) -> MachineState | None:
    """The state the last run in the journal left, to continue from; None for no run yet.

    Raises CanaryError when that run is final (promoted or rolled back), or was started for
    other backends or steps than `plan`'s.
    """
    records = read_journal(path)
    starts = [i for i, r in enumerate(records) if r["kind"] == "start"]
    if not starts:
        if records:
            raise CanaryError(f"{path}: decisions without a start line; not a canary journal")
        return None
    run = records[starts[-1] :]
    start = run[0]
    wanted = {"incumbent": plan.incumbent, "candidate": plan.candidate, "steps": plan.steps}
    differs = [key for key, value in wanted.items() if start.get(key) != value]
    if differs:
        found = ", ".join(f"{key} {start.get(key)!r}" for key in differs)
        raise CanaryError(
            f"{path}:{start['_line']}: this journal's run was started with {found}, not the "
            "plan's; run with --restart to begin a new run, or name a new journal in the plan"
        )
    if len(run) == 1:
        return MachineState()
    last = run[-1]
    try:
        state = MachineState(**_State.model_validate(last.get("after")).model_dump())
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise CanaryError(f"{path}:{last['_line']}: after.{where}: {problem['msg']}") from None
    if state.phase in FINAL:
        raise CanaryError(
            f"{path}:{last['_line']}: this canary already ended ({state.phase}: "
            f"{last.get('reason', '')}); run with --restart to begin again, or name a new "
            "journal in the plan"
        )
    return state


def _traffic(traffic: Traffic | None) -> dict[str, Any] | None:
    if traffic is None:
        return None
    shadow = None
    if traffic.shadow_backend is not None:
        shadow = {"backend": traffic.shadow_backend, "share": traffic.shadow_share}
    return {"weights": dict(traffic.weights), "shadow": shadow}


def _report(report: WindowReport | None) -> dict[str, Any] | None:
    return None if report is None else asdict(report)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a figure is journaled as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
