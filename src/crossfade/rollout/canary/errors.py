"""Errors of the canary that are the user's to fix (the CLI prints them and exits 2).

CrossfadeError
├── SpecError
│   └── PlanError      a plan file that cannot be read or does not validate
│                      (crossfade.spec.canary_plan, with the plan's models)
└── CanaryError        the router cannot be reached or refuses, or the journal forbids a run
"""

from __future__ import annotations

from crossfade.errors import CrossfadeError


class CanaryError(CrossfadeError):
    """A canary that cannot run as asked; the message says why and what to do."""
