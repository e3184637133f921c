"""`crossfade route CONFIG`: run the router until interrupted (or `--check` the config)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossfade.rollout.router.config import RouterConfig


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="the router's YAML config")
    parser.add_argument(
        "--check", action="store_true", help="validate the config, print the backends, and exit"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os

    from crossfade.errors import UsageError
    from crossfade.rollout.router.config import load_router_config

    config = load_router_config(args.config)
    variable = config.admin.token_env
    token = os.environ.get(variable, "")
    if args.check:
        for backend in config.backends:
            print(f"{backend.name}: {backend.target} (weight {backend.weight:g})")
        print(f"admin token: ${variable} is {'set' if token else 'NOT set'}")
        return 0
    if not token:
        raise UsageError(
            f"{args.config}: admin.token_env: the environment variable {variable} is not set; "
            f"export {variable}=SECRET (the admin API refuses every call without it)"
        )
    return _serve(config, token)


def _serve(config: RouterConfig, token: str) -> int:
    import asyncio
    import signal

    from crossfade.errors import UsageError
    from crossfade.rollout.router.server import Router

    async def main() -> None:
        router = Router(config, token)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await router.start()
        except OSError as exc:
            await router.stop()
            raise UsageError(
                f"cannot listen: {exc}; choose other ports in listen:/admin:"
            ) from None
        listen, admin = config.listen, config.admin
        print(f"crossfade route: serving on http://{listen.host}:{router.data_port}", flush=True)
        print(f"crossfade route: admin API on http://{admin.host}:{router.admin_port}", flush=True)
        try:
            await stop.wait()
        finally:
            await router.stop()

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a core dependency on Linux
        asyncio.run(main())
    else:
        uvloop.run(main())
    return 0
