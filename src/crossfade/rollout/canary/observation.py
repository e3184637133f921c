"""What the canary reads from the router's admin API: finished requests (GET
/admin/observations) and the backends' health (GET /admin/backends)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Observation(BaseModel):
    """One finished request as the router measured it (GET /admin/observations)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int
    backend: str
    shadow: bool
    ok: bool
    error_kind: str | None = None
    ttft_ms: float | None = None
    itl_ms: list[float] = []
    output_tokens: int | None = None
    requested_tokens: int | None = None
    end_unix: float
    tpot_ms: float | None = None  # absent from routers older than the TPOT gate


class BackendStatus(BaseModel):
    """One backend's health as the router's listing gives it (GET /admin/backends)."""

    model_config = ConfigDict(extra="ignore", frozen=True)  # the listing has more; we read these

    name: str
    healthy: bool = True
    ejected: bool = False
    consecutive_failures: int = 0

    @property
    def in_rotation(self) -> bool:
        return self.healthy and not self.ejected

    def describe(self) -> str:
        if self.ejected:
            return f"an operator ejected {self.name} (POST /admin/backends/{self.name}/eject)"
        return (
            f"the router's health check took {self.name} out of rotation after "
            f"{self.consecutive_failures} consecutive failures"
        )
