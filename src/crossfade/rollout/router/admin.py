"""The admin API, on its own listener, every call authorised by `Authorization: Bearer TOKEN`
(the token comes from the environment variable the config names):

    GET  /admin/backends                    the listing: backends and the shadow setting
    PUT  /admin/weights                     {"weights": {"NAME": W, ...}} -> listing
    PUT  /admin/shadow                      {"backend": "NAME", "share": S} or {"backend": null}
    POST /admin/backends/{name}/eject       -> listing
    POST /admin/backends/{name}/restore     -> listing
    GET  /admin/observations?after=SEQ      {"next": SEQ, "observations": [...]}, oldest first
    GET  /admin/shadow/comparisons?after=SEQ {"next": SEQ, "comparisons": [...]}: both answers
                                            of each mirrored request
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from crossfade.rollout.router.state import AdminInputError

if TYPE_CHECKING:
    from crossfade.rollout.router.server import Router

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def admin_app(router: Router) -> web.Application:
    expected = f"Bearer {router.token}".encode()

    @web.middleware
    async def authorise(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            body = {"error": "give the admin token as 'Authorization: Bearer TOKEN'"}
            return web.json_response(body, status=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            return await handler(request)
        except AdminInputError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)

    state = router.state

    def listing() -> web.Response:
        return web.json_response(state.listing())

    async def backends(request: web.Request) -> web.Response:
        return listing()

    async def weights(request: web.Request) -> web.Response:
        state.set_weights((await _body(request)).get("weights"))
        return listing()

    async def shadow(request: web.Request) -> web.Response:
        body = await _body(request)
        if "backend" not in body:
            raise AdminInputError('give {"backend": "NAME", "share": S} or {"backend": null}')
        state.set_shadow(body["backend"], body.get("share"))
        return listing()

    async def eject(request: web.Request) -> web.Response:
        state.eject(request.match_info["name"])
        return listing()

    async def restore(request: web.Request) -> web.Response:
        state.restore(request.match_info["name"])
        return listing()

    async def observations(request: web.Request) -> web.Response:
        after, limit = _int_query(request, "after", 0), _int_query(request, "limit", None)
        cursor, found = router.observations.after(after, limit)
        return web.json_response({"next": cursor, "observations": [o.to_json() for o in found]})

    async def comparisons(request: web.Request) -> web.Response:
        cursor, found = router.shadows.after(_int_query(request, "after", 0))
        return web.json_response({"next": cursor, "comparisons": found})

    app = web.Application(middlewares=[authorise])
    app.router.add_get("/admin/backends", backends)
    app.router.add_put("/admin/weights", weights)
    app.router.add_put("/admin/shadow", shadow)
    app.router.add_post("/admin/backends/{name}/eject", eject)
    app.router.add_post("/admin/backends/{name}/restore", restore)
    app.router.add_get("/admin/observations", observations)
    app.router.add_get("/admin/shadow/comparisons", comparisons)
    return app


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise AdminInputError(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise AdminInputError("the body must be a JSON object")
    return body


def _int_query(request: web.Request, name: str, default: Any) -> Any:
    value = request.query.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise AdminInputError(f"{name} must be a whole number, got {value!r}") from None
    if number < 0:
        raise AdminInputError(f"{name} must be >= 0, got {number}")
    return number
