"""The canary controller: move traffic from an incumbent backend to a candidate in steps,
compare the two in the same window at each step, roll back at once when a gate fails.

The plan and its loader are in `crossfade.spec.canary_plan`. Here: `session` (one run opened
from its journal), `observation` (what the router
reports), `gates` (pure statistics and verdicts), `machine` (the sans-IO state machine),
`journal` (append-only JSONL, resume), `controller` (the async loop; injected clock and router
driver), `router_admin` (the driver for crossfade's router admin API), `errors`.
"""
