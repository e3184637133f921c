"""What the canary reads from the router's admin API besides its observations (GET
/admin/observations, `rollout.router.observations.Observation`): the backends' health (GET
/admin/backends)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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
