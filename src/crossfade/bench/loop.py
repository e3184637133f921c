"""The one way crossfade runs an event loop: on uvloop, the loop `crossfade calibrate` measured
the client's own overhead on, so that every command (bench, its worker processes and shards,
compare, demo, calibrate, the router, the canary, the ground-truth server) is the client its
calibration describes. A result records the loop its requests were sent from."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop; None (asyncio's own) where uvloop is not installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a core dependency on Linux
        return None
    return uvloop.new_event_loop


def runner() -> asyncio.Runner:
    """A runner on a loop from `loop_factory`, for several `run` calls on one loop."""
    return asyncio.Runner(loop_factory=loop_factory())


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a new loop from `loop_factory`."""
    with runner() as one:
        return one.run(main)


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """A loop's implementation: 'uvloop', or 'asyncio' for the standard one."""
    return type(loop).__module__.partition(".")[0]
