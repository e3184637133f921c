"""The router's mutable state: each backend's weight, health and admin ejection, and the shadow
setting; the operations the admin API performs on it, validated; its JSON listing. No I/O."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crossfade.rollout.router.choose import BackendView
from crossfade.rollout.router.config import RouterConfig
from crossfade.rollout.router.health import BackendHealth, HealthPolicy
from crossfade.spec.suggest import did_you_mean


class AdminInputError(Exception):
    """A request to the admin API that cannot be applied; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class BackendState:
    name: str
    target: str  # the URL as configured
    weight: float
    health: BackendHealth
    ejected: bool = False

    @property
    def in_rotation(self) -> bool:
        return self.health.healthy and not self.ejected

    def view(self) -> BackendView:
        return BackendView(self.name, self.weight, self.in_rotation, self.ejected)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "weight": _number(self.weight),
            "healthy": self.health.healthy,
            "ejected": self.ejected,
            "consecutive_failures": self.health.consecutive_failures,
        }


class RouterState:
    def __init__(self, config: RouterConfig, clock: Callable[[], float]) -> None:
        h = config.health
        policy = HealthPolicy(h.interval_s, h.eject_after_failures, h.restore_after_successes)
        self.backends = [
            BackendState(b.name, b.target, b.weight, BackendHealth(policy, clock))
            for b in config.backends
        ]
        self.by_name = {b.name: b for b in self.backends}
        shadow = config.shadow
        self.shadow_backend: str | None = shadow.backend if shadow else None
        self.shadow_share = shadow.share if shadow else 0.0

    def views(self) -> list[BackendView]:
        return [b.view() for b in self.backends]

    def get(self, name: str, *, status: int = 404) -> BackendState:
        """The backend called `name`; an unknown name is a 404 in a path, a 400 in a body."""
        backend = self.by_name.get(name)
        if backend is None:
            hint = did_you_mean(name, self.by_name) or f"backends: {', '.join(self.by_name)}"
            raise AdminInputError(f"no backend named {name!r} ({hint})", status=status)
        return backend

    def set_weights(self, weights: Any) -> None:
        """Set some or all weights at once; nothing changes unless every one is valid."""
        if not isinstance(weights, Mapping) or not weights:
            raise AdminInputError('give {"weights": {"BACKEND": WEIGHT, ...}}')
        checked: dict[str, float] = {}
        for name, weight in weights.items():
            backend = self.get(str(name), status=400)
            valid = isinstance(weight, int | float) and not isinstance(weight, bool)
            if not valid or not math.isfinite(weight) or weight < 0:
                raise AdminInputError(f"weight of {name!r} must be a number >= 0, got {weight!r}")
            checked[backend.name] = float(weight)
        for name, weight in checked.items():
            self.by_name[name].weight = weight

    def set_shadow(self, backend: Any, share: Any) -> None:
        if backend is None:
            self.shadow_backend, self.shadow_share = None, 0.0
            return
        name = self.get(str(backend), status=400).name
        valid = isinstance(share, int | float) and not isinstance(share, bool)
        if not valid or not 0 <= share <= 1:
            raise AdminInputError(f"share must be a number in [0, 1], got {share!r}")
        self.shadow_backend, self.shadow_share = name, float(share)

    def eject(self, name: str) -> None:
        self.get(name).ejected = True

    def restore(self, name: str) -> None:
        """Back in rotation now: the admin's ejection lifted and the health streaks cleared
        (a backend that still fails is ejected again by its failures)."""
        backend = self.get(name)
        backend.ejected = False
        backend.health.reset()

    def listing(self) -> dict[str, Any]:
        shadow = None
        if self.shadow_backend is not None:
            shadow = {"backend": self.shadow_backend, "share": _number(self.shadow_share)}
        return {"backends": [b.to_json() for b in self.backends], "shadow": shadow}


def _number(value: float) -> int | float:
    """Whole numbers as JSON integers (weights are written 100, not 100.0)."""
    return int(value) if value.is_integer() else value
