"""`crossfade canary PLAN`: move traffic from the incumbent to the candidate in the plan's steps,
through crossfade's router, comparing the two in the same window at every step; roll back at
once when a gate fails, promote when every step passes. Exit 0 promoted, 1 rolled back or
paused, 2 bad input."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

    from crossfade.rollout.canary.machine import Decision
    from crossfade.spec.canary_plan import CanaryPlan

EXAMPLE = """\
plan:
  version: 1
  router: {admin_url: "http://127.0.0.1:18801", token_env: CROSSFADE_ADMIN_TOKEN}
  incumbent: vllm-triton          # backend names in the router's config
  candidate: trtllm-ensemble
  steps: [shadow, 5, 20, 50, 100] # shadow: a copy of every request; N: N% of client traffic
  step: {min_duration_s: 60, min_samples: 200, max_duration_s: 300, interval_s: 10, settle_s: 5}
  gates:                          # candidate vs incumbent, same window
    ttft_p95_ratio_max: 1.25
    itl_p95_ratio_max: 1.25       # optional: per token, pooled (0 where tokens come in bunches)
    tpot_p95_ratio_max: 1.25      # optional: one TPOT per request, whatever the chunking
    error_rate_delta_max: 0.01
    length_mismatch_delta_max: 0.01   # optional
    slo: {ttft_p99_ms: 2000, itl_p99_ms: 150}   # optional, on the candidate
    rollback_when_ejected: true   # the router took the candidate out of rotation
    min_samples: 20               # values a gate needs for any verdict (default 20)
  on_unclear: pause               # or extend (step.max_extensions times, then pause)
  journal: canary.jsonl           # one line per decision, with its evidence

Samples: a step passes only with step.min_samples requests a side, and a gate judges (pass or
fail, in the step's window or the last interval's) only with gates.min_samples values a side,
so a gate can fail a step early; step.min_samples below gates.min_samples is refused.

A second run with the same journal resumes where the last one stopped (a step in progress
starts its window again); a finished journal needs --restart or a new journal."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLE
    parser.add_argument("plan", metavar="PLAN", help="the canary plan (YAML, below)")
    parser.add_argument(
        "--restart",
        action="store_true",
        help="begin a new run from the first step, even if the journal's last run ended",
    )
    parser.add_argument(
        "--abort",
        action="store_true",
        help="roll back to the incumbent now and end the run (journaled)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os

    from rich.console import Console

    from crossfade.bench import loop
    from crossfade.rollout.canary.errors import CanaryError
    from crossfade.rollout.canary.machine import Phase
    from crossfade.rollout.canary.session import drive, open_session
    from crossfade.spec.canary_plan import load_plan

    plan = load_plan(args.plan)
    if plan.router is None:
        raise CanaryError(
            f"{args.plan}: router: missing; crossfade canary needs the admin API of the router "
            "to drive: add router: {admin_url: http://HOST:PORT, token_env: VARIABLE}, or run "
            "the plan inside the router with crossfade route CONFIG --plan PLAN"
        )
    token_env = plan.router.token_env
    token = os.environ.get(token_env)
    if not token:
        raise CanaryError(
            f"{args.plan}: router.token_env names {token_env}, which is not set: export "
            f"{token_env}=<the router's admin token>"
        )
    session = open_session(plan, restart=args.restart)
    console = Console(highlight=False, soft_wrap=True)  # a log: one line per decision
    phase = loop.run(
        drive(
            session,
            plan.router.admin_url,
            token,
            token_env,
            lambda decision: console.print(decision_line(plan, decision)),
            abort="aborted by the operator (--abort)" if args.abort else None,
        )
    )
    console.print(f"{phase}; journal: {plan.journal}")
    return 0 if phase is Phase.PROMOTED else 1


STYLES = {
    "set_traffic": "cyan",
    "hold": "dim",
    "extend": "yellow",
    "pause": "bold yellow",
    "rollback": "bold red",
    "promote": "bold green",
}


def decision_line(plan: CanaryPlan, decision: Decision) -> Text:
    """One printed line per decision: time, step, action, reason, and the traffic it set."""
    import time

    from rich.text import Text

    from crossfade.spec.canary_plan import step_label

    step = decision.after.step if decision.after.step is not None else decision.before.step
    where = "-" if step is None else f"{step + 1}/{len(plan.steps)} {step_label(plan.steps[step])}"
    stamp = time.strftime("%H:%M:%S", time.localtime(decision.at))
    line = Text.assemble(
        (f"{stamp}  ", "dim"),
        (f"{where:<12}", "bold"),
        (f"{decision.action.value:<12}", STYLES.get(decision.action.value, "")),
        decision.reason,
    )
    if decision.traffic is not None:
        weights = ", ".join(f"{name} {weight}" for name, weight in decision.traffic.weights.items())
        shadow = decision.traffic.shadow_backend
        copies = f"; copies to {shadow}" if shadow else ""
        line.append(f"  [{weights}{copies}]", "dim")
    return line
