"""The canary's `RouterDriver` for crossfade's router: its admin API over HTTP (aiohttp).

Every call carries `Authorization: Bearer <token>`. Connection failures, timeouts and 5xx
answers are retried a few times (a canary runs for minutes; one dropped connection should not
end it); a refused token (401) or a rejected body (400) is not, and says what to fix.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, ValidationError

from crossfade.rollout.canary.errors import CanaryError
from crossfade.rollout.canary.machine import Traffic
from crossfade.rollout.canary.observation import BackendStatus
from crossfade.rollout.router.observations import Observation

ATTEMPTS = 3
RETRY_WAIT_S = 1.0
TIMEOUT_S = 15.0


class _ObservationPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    next: int
    observations: list[Observation]


class _Listing(BaseModel):
    model_config = ConfigDict(extra="ignore")

    backends: list[BackendStatus]


class AdminApiDriver:
    """Use as `async with AdminApiDriver(url, token, token_env) as driver:`."""

    def __init__(self, admin_url: str, token: str, token_env: str) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.token_env = token_env
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AdminApiDriver:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        self._session = aiohttp.ClientSession(headers=self._headers, timeout=timeout)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def check_backends(self, names: Sequence[str]) -> None:
        known = [b.name for b in await self._listing()]
        for name in names:
            if name not in known:
                raise CanaryError(
                    f"the router at {self.admin_url} has no backend '{name}' (it has: "
                    f"{', '.join(known) or 'none'}); fix incumbent/candidate in the plan"
                )

    async def status(self, name: str) -> BackendStatus | None:
        return next((b for b in await self._listing() if b.name == name), None)

    async def _listing(self) -> list[BackendStatus]:
        body = await self._call("GET", "/admin/backends")
        listing: _Listing = self._parse(_Listing, body, "GET /admin/backends")
        return listing.backends

    async def set_traffic(self, traffic: Traffic) -> None:
        # Weights first: a rollback takes client traffic off the candidate before anything else.
        await self._call("PUT", "/admin/weights", {"weights": dict(traffic.weights)})
        shadow: dict[str, Any] = {"backend": traffic.shadow_backend}
        if traffic.shadow_backend is not None:
            shadow["share"] = traffic.shadow_share
        await self._call("PUT", "/admin/shadow", shadow)

    async def observations(self, after: int) -> tuple[int, list[Observation]]:
        path = f"/admin/observations?after={after}"
        page = self._parse(_ObservationPage, await self._call("GET", path), f"GET {path}")
        return page.next, page.observations

    def _parse(self, model: type[Any], body: Any, what: str) -> Any:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            raise CanaryError(
                f"the router at {self.admin_url} answered {what} with an unexpected body "
                f"({where}: {problem['msg']}); is it crossfade's router, of this version?"
            ) from None

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        assert self._session is not None, "use AdminApiDriver in `async with`"
        url = self.admin_url + path
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self._session.request(method, url, json=body) as response:
                    text = await response.text()
                    if response.status < 500:
                        return self._answer(method, path, response.status, text)
                    problem = f"answered {response.status}: {text[:200]}"
            except aiohttp.ClientConnectionError as exc:
                problem = f"cannot be reached ({exc})"
            except TimeoutError:
                problem = f"did not answer within {TIMEOUT_S:g} s"
            if attempt < ATTEMPTS:
                await asyncio.sleep(RETRY_WAIT_S)
        raise CanaryError(
            f"the router's admin API at {self.admin_url} {problem} ({method} {path}, "
            f"{ATTEMPTS} attempts): is `crossfade route` running, and is router.admin_url its "
            "admin listener?"
        )

    def _answer(self, method: str, path: str, status: int, text: str) -> Any:
        if status == 401:
            raise CanaryError(
                f"the router's admin API at {self.admin_url} refused the token in "
                f"${self.token_env} (401): set {self.token_env} to the router's admin token"
            )
        if status >= 400:
            raise CanaryError(
                f"the router's admin API at {self.admin_url} refused {method} {path} "
                f"({status}): {text[:300]}"
            )
        try:
            return json.loads(text)
        except ValueError:
            raise CanaryError(
                f"the router's admin API at {self.admin_url} answered {method} {path} with "
                f"something that is not JSON: {text[:100]!r}"
            ) from None
