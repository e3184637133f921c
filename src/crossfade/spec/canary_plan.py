"""The canary plan: which backends, which traffic steps, how long each lasts, and the gates.

```yaml
version: 1
router: {admin_url: "http://127.0.0.1:18801", token_env: CROSSFADE_ADMIN_TOKEN}
incumbent: vllm-triton
candidate: trtllm-ensemble
steps: [shadow, 5, 20, 50, 100]
step: {min_duration_s: 60, min_samples: 200, max_duration_s: 300, interval_s: 10, settle_s: 5}
gates:
  ttft_p95_ratio_max: 1.25
  itl_p95_ratio_max: 1.25
  tpot_p95_ratio_max: 1.25
  error_rate_delta_max: 0.01
  length_mismatch_delta_max: 0.01
  slo: {ttft_p99_ms: 2000, itl_p99_ms: 150}
  rollback_when_ejected: true
on_unclear: pause
journal: canary.jsonl
```

A step is `shadow` (the candidate gets no client traffic but a copy of every request) or the
candidate's percentage of client traffic. At 100 the incumbent gets the copies instead, so the
last step is still compared with the incumbent in the same window.

Samples, one rule: `step.min_samples` is how many requests each side needs before a step can
pass; `gates.min_samples` is how many values a gate needs for any verdict, so a gate can fail
(in the last interval's window too) on fewer requests than a step needs to pass. A step's
requirement can never be below a gate's: a plan with `step.min_samples` under
`gates.min_samples` is refused where it is read.

It lives with the other YAML models because both `crossfade.rollout.canary` (which runs it) and
`crossfade.render.k8s` (which renders it for Argo Rollouts or Flagger) read it.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from crossfade.errors import SpecError
from crossfade.spec.base import StrictModel
from crossfade.spec.located import parse_located, read_text

SHADOW = "shadow"
NOT_A_MAPPING = "a plan is a mapping of keys; start from the example in `crossfade canary --help`"


class PlanError(SpecError):
    """A canary plan that cannot be read or does not validate."""


def _step(value: object) -> object:
    if value == SHADOW or (type(value) is int and 1 <= value <= 100):
        return value
    raise ValueError(f"a step is 'shadow' or the candidate's percentage, 1 to 100 (got {value!r})")


Step = Annotated[Literal["shadow"] | int, BeforeValidator(_step)]


class RouterAccess(StrictModel):
    """How to reach the router's admin API (`crossfade route`'s `admin` listener)."""

    admin_url: str = Field(description="e.g. http://127.0.0.1:18801")
    token_env: str = Field(
        default="CROSSFADE_ADMIN_TOKEN",
        description="environment variable holding the admin bearer token",
    )

    @field_validator("admin_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://127.0.0.1:18801")
        return value.rstrip("/")


class StepTiming(StrictModel):
    """How long each step lasts. A step passes once it has run `min_duration_s`, seen
    `min_samples` requests on each side and every gate passes; still unclear at
    `max_duration_s`, it is extended (by another `max_duration_s`) or paused, per `on_unclear`."""

    min_duration_s: float = Field(gt=0)
    min_samples: int = Field(
        ge=1, description="requests per side before a step can pass; at least gates.min_samples"
    )
    max_duration_s: float = Field(gt=0)
    interval_s: float = Field(gt=0, description="the evaluation interval")
    max_extensions: int = Field(default=1, ge=0, description="with on_unclear: extend")
    settle_s: float = Field(
        default=0.0,
        ge=0,
        description="requests that finish this soon after a traffic change are not evidence: "
        "the backends are still taking up the new split (Argo Rollouts calls it initialDelay)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> StepTiming:
        if self.max_duration_s < self.min_duration_s:
            raise ValueError(
                f"max_duration_s ({self.max_duration_s:g}) is below min_duration_s "
                f"({self.min_duration_s:g}); raise it"
            )
        if self.settle_s >= self.min_duration_s:
            raise ValueError(
                f"settle_s ({self.settle_s:g}) is not shorter than min_duration_s "
                f"({self.min_duration_s:g}): a step would be judged on nothing"
            )
        if self.interval_s > self.min_duration_s:
            raise ValueError(
                f"interval_s ({self.interval_s:g}) is longer than min_duration_s "
                f"({self.min_duration_s:g}): a step would pass on its first evaluation"
            )
        return self


class Slo(StrictModel):
    """Absolute limits on the candidate, whatever the incumbent does."""

    ttft_p99_ms: float | None = Field(default=None, gt=0)
    itl_p99_ms: float | None = Field(default=None, gt=0)


class Gates(StrictModel):
    """Candidate against incumbent in the same window. A gate fails only when its whole
    confidence interval is past the limit, passes when the whole interval is within it, and is
    unclear otherwise (or with fewer than `min_samples` on a side)."""

    ttft_p95_ratio_max: float = Field(gt=0, description="candidate TTFT p95 / incumbent's")
    itl_p95_ratio_max: float | None = Field(
        default=None,
        gt=0,
        description="candidate ITL p95 / incumbent's, ITL per token as pooled over requests; "
        "omit it where a backend sends several tokens per chunk (their ITL is then mostly 0)",
    )
    tpot_p95_ratio_max: float | None = Field(
        default=None,
        gt=0,
        description="candidate TPOT p95 / incumbent's, one TPOT per request ((E2E - TTFT) / "
        "(tokens - 1)): steady however a backend groups tokens into chunks",
    )
    error_rate_delta_max: float = Field(ge=0, le=1, description="candidate - incumbent")
    length_mismatch_delta_max: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of output lengths that differ from the requested one, candidate - "
        "incumbent; omit when the router sees no token counts",
    )
    slo: Slo | None = None
    rollback_when_ejected: bool = Field(
        default=True,
        description="roll back as soon as the router takes the candidate out of rotation",
    )
    min_samples: int = Field(
        default=20,
        ge=2,
        description="values per side a gate needs for any verdict (a fail, in any window); "
        "step.min_samples may not be lower",
    )
    confidence: float = Field(default=0.95, gt=0.5, lt=1)


class CanaryPlan(StrictModel):
    """A canary from `incumbent` to `candidate` through `steps`; see the module docstring."""

    version: Literal[1]
    # Needed by `crossfade canary`, which drives a router it did not start; `crossfade route
    # --plan` drives its own, and `render canary` none.
    router: RouterAccess | None = None
    incumbent: str = Field(min_length=1)
    candidate: str = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    step: StepTiming
    gates: Gates
    on_unclear: Literal["extend", "pause"] = "pause"
    journal: Path

    @field_validator("candidate")
    @classmethod
    def _not_incumbent(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("incumbent"):
            raise ValueError(f"'{value}' is the incumbent too; name the backend to move to")
        return value

    @model_validator(mode="after")
    def _samples(self) -> CanaryPlan:
        needed, given = self.gates.min_samples, self.step.min_samples
        if given < needed:  # located on step.min_samples, which a ValueError here would not be
            message = (
                f"{given} is below gates.min_samples ({needed}): no step could pass before its "
                f"gates had {needed} values a side; raise step.min_samples to {needed} or more, "
                "or lower gates.min_samples"
            )
            error = PydanticCustomError("value_error", message)
            detail = InitErrorDetails(type=error, loc=("step", "min_samples"), input=given)
            raise ValidationError.from_exception_data(type(self).__name__, [detail])
        return self

    @field_validator("steps")
    @classmethod
    def _increasing_to_100(cls, steps: list[Step]) -> list[Step]:
        if SHADOW in steps[1:]:
            raise ValueError("'shadow' can only be the first step")
        percents = [s for s in steps if isinstance(s, int)]
        if any(b <= a for a, b in itertools.pairwise(percents)):
            raise ValueError(f"percentages must increase; got {steps}")
        if steps[-1] != 100:
            raise ValueError(f"the last step must be 100 (the candidate takes all); got {steps}")
        return steps


def step_label(step: Step) -> str:
    return SHADOW if step == SHADOW else f"{step}%"


def load_plan(path: str | Path) -> CanaryPlan:
    """The plan at `path`, its problems located; a relative `journal` is taken from the plan's
    folder."""
    file = Path(path)
    plan = parse_plan(read_text(file, PlanError), str(file))
    if not plan.journal.is_absolute():
        plan = plan.model_copy(update={"journal": file.parent / plan.journal})
    return plan


def parse_plan(text: str, filename: str = "<plan>") -> CanaryPlan:
    return parse_located(text, CanaryPlan, filename, NOT_A_MAPPING, PlanError)
