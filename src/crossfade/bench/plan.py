"""A run's load plan: closed or open loop, how much, and when to stop. Validated up front."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crossfade.bench.arrivals import ARRIVALS_FORMS, parse_arrivals


class StopReason(StrEnum):
    COMPLETED = "completed"  # every planned request finished
    DURATION = "duration"  # --duration elapsed
    ERROR_RATE = "error_rate"  # --max-error-rate exceeded
    INTERRUPTED = "interrupted"  # Ctrl-C or another cancellation


class LoadPlan(BaseModel):
    """What to send and how. Exactly one of `concurrency` (closed loop) or `rate` (open loop)."""

    # No inf or nan: `--rate inf` or `--duration inf` would only fail later, mid-run.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    concurrency: PositiveInt | None = None
    rate: float | None = Field(default=None, gt=0)
    arrivals: str = "poisson"
    max_concurrency: PositiveInt | None = None
    requests: PositiveInt | None = None
    duration_s: float | None = Field(default=None, gt=0)
    warmup_requests: int = Field(default=0, ge=0)
    max_error_rate: float | None = Field(default=None, gt=0, le=1)
    min_requests_for_error_rate: PositiveInt = 20
    request_timeout_s: float = Field(default=600.0, gt=0)
    seed: int = 0

    @field_validator("arrivals")
    @classmethod
    def _known_arrivals(cls, text: str, info: ValidationInfo) -> str:
        """An open loop's, parsed up front and kept in canonical form (`gamma:0.5`, not
        ` Gamma:.5`); a closed loop never reads it (and older results may hold anything)."""
        if info.data.get("rate") is None:
            return text
        try:
            return parse_arrivals(text).spec()
        except ValueError:
            raise ValueError(f"not understood; use {ARRIVALS_FORMS}") from None

    @model_validator(mode="after")
    def _one_mode(self) -> LoadPlan:
        if (self.concurrency is None) == (self.rate is None):
            raise ValueError("give exactly one of --concurrency (closed) or --rate (open loop)")
        if self.requests is None and self.duration_s is None:
            raise ValueError("give --requests, --duration or both, so the run ends")
        if self.max_concurrency is not None and self.rate is None:
            raise ValueError("--max-concurrency caps an open-loop run; use it with --rate")
        return self

    @property
    def mode(self) -> Literal["closed", "open"]:
        return "closed" if self.concurrency is not None else "open"

    @property
    def most_in_flight(self) -> int:
        """Requests in flight at most: the concurrency, or an open loop's cap (0: none), so
        the connections worth opening before the run."""
        return self.concurrency or self.max_concurrency or 0

    def describe(self) -> str:
        if self.concurrency is not None:
            return f"concurrency@{self.concurrency}"
        cap = f", max {self.max_concurrency} in flight" if self.max_concurrency else ""
        return f"{self.arrivals}@{self.rate:g}/s{cap}"
