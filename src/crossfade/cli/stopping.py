"""How every command that sends load runs and stops (bench, its --workers and --shard forms,
compare, demo): on uvloop, with SIGINT (Ctrl-C) and SIGTERM (what a Kubernetes Job deletion,
deadline or eviction sends) both setting the run's `Interrupt`. The run then stops gracefully
and saves everything it measured; the command exits 128 + the signal's number (130, 143). A
second signal has its default effect: it ends the process at once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from crossfade.bench import loop
from crossfade.bench.runner import Interrupt

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Exit codes of the commands that send load, beside 0, 2 (a usage error, as for every command)
# and a stopping signal's 128 + N.
EXIT_SOME_FAILED = 1  # some requests failed, or the run stopped early
EXIT_TARGET_FAILED = 3  # a target answered nothing or too little (`Summary.target_failed`)

T = TypeVar("T")


def run_until_stopped(
    main: Callable[[Interrupt], Coroutine[Any, Any, T]],
) -> tuple[T, Interrupt]:
    """Run `main(interrupt)` on a new event loop; the interrupt says which signal, if any,
    stopped it."""
    interrupt = Interrupt()

    async def guarded() -> T:
        loop = asyncio.get_running_loop()

        def handle(received: signal.Signals) -> None:
            interrupt.stop_by(received)
            for each in STOP_SIGNALS:
                loop.remove_signal_handler(each)

        for each in STOP_SIGNALS:
            loop.add_signal_handler(each, handle, each)
        return await main(interrupt)

    return loop.run(guarded()), interrupt


def signal_exit_code(interrupt: Interrupt) -> int | None:
    """128 + the number of the signal that stopped the run (the shell's convention), or None."""
    return None if interrupt.signal is None else 128 + interrupt.signal.value
