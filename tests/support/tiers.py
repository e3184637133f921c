"""The test tiers, as pytest markers, and the guard that keeps the fast tier free of servers.

- `servers`: the test starts a server (in its process or another), a subprocess, or opens a
  real socket: the ground-truth server, the router, aiohttp servers, `crossfade` in a subprocess.
- `lab`: it needs the real lab (Triton + vLLM on this machine): tests/lab/, the `lab` fixture.
- `browser`: it runs headless Chromium.
- `slow`: it runs long without any of those: every hypothesis test (many generated inputs) and
  statistical tests of many trials.

An unmarked test is in the fast tier. tests/conftest.py marks a test by its folder, the fixtures
it uses and whether hypothesis drives it (below); a module or test that starts servers on its
own says so with `pytestmark = pytest.mark.servers` or a decorator. While a test outside the
servers, lab and browser tiers sets up or runs, binding or connecting a socket or starting a
process fails it, naming the marker it needs: no test reaches a server unmarked.
"""

from __future__ import annotations

import multiprocessing.util
import os
import platform
import socket
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import grpc.aio  # type: ignore[import-untyped]
import numpy.testing  # noqa: F401  (imported for its side effect, below)
import uvloop

# Libraries that start a process on their own, once, and keep what it said: done here, before
# any test runs under the guard (importing numpy.testing runs `lscpu`; platform runs `uname -p`).
platform.processor()

# Registered, with what each needs, in pyproject.toml ([tool.pytest.ini_options] markers).
TIERS = ("servers", "lab", "browser", "slow")
SERVER_TIERS = ("servers", "lab", "browser")  # the tiers whose tests may reach sockets
# Fixtures that start servers: a test that uses one is in the tier.
FIXTURE_TIERS = {"groundtruth": "servers", "lab": "lab"}
FOLDER_TIERS = {"lab": "lab"}  # tests/<folder>/ -> tier
TESTS = Path(__file__).resolve().parents[1]
NATIVE_LOOP_CALLS = (
    "create_server", "create_connection", "create_unix_server", "create_unix_connection",
    "create_datagram_endpoint", "sock_connect", "subprocess_exec", "subprocess_shell",
)  # fmt: skip
ADVICE = "see tests/support/tiers.py; if a library did it on its own, warm it up there"


def tiers_of(path: Path, fixtures: Iterable[str], generated: bool) -> set[str]:
    """The tiers a test is in by its folder, the fixtures it uses and whether hypothesis
    generates its inputs (`generated`: a property test, many examples: `slow`)."""
    found = {FIXTURE_TIERS[name] for name in fixtures if name in FIXTURE_TIERS}
    parts = path.resolve().relative_to(TESTS).parts
    if len(parts) > 1 and parts[0] in FOLDER_TIERS:
        found.add(FOLDER_TIERS[parts[0]])
    if generated:
        found.add("slow")
    return found


class OutsideItsTier(BaseException):
    """Raised where a fast-tier test reaches a socket or a process. A BaseException, so the
    code under test (which may catch OSError or Exception to report a failed connection) does
    not swallow it."""


@contextmanager
def no_servers(test: str) -> Iterator[list[str]]:
    """While it is open, binding or connecting a socket or starting a process adds a message to
    the list it gives and raises OutsideItsTier. It sees what Python code asks for: the socket
    module, subprocess and multiprocessing, and the entry points of the two native libraries
    crossfade reaches sockets through (uvloop's loop, gRPC)."""
    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def refused(*args: object, **kwargs: object) -> object:
            attempts.append(f"{test} {what}: mark it `servers` ({ADVICE})")
            raise OutsideItsTier(attempts[-1])

        return refused

    patches: list[tuple[object, str, object]] = [
        (socket.socket, "bind", refuse("binds a socket")),
        (socket.socket, "connect", refuse("connects a socket")),
        (socket.socket, "connect_ex", refuse("connects a socket")),
        (subprocess.Popen, "_execute_child", refuse("starts a subprocess")),
        (multiprocessing.util, "spawnv_passfds", refuse("starts a process")),
        (os, "fork", refuse("forks a process")),
    ]
    # uvloop's loop (the one crossfade runs on) and gRPC's core open sockets and processes in
    # native code, past the Python socket module: guarded where Python calls them.
    for name in NATIVE_LOOP_CALLS:
        patches.append((uvloop.Loop, name, refuse(f"calls uvloop's {name}")))
    for module in (grpc, grpc.aio):
        for name in ("server", "insecure_channel", "secure_channel"):
            patches.append((module, name, refuse(f"opens a gRPC {name.replace('_', ' ')}")))
    saved = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in patches]
    try:
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        yield attempts
    finally:
        for owner, name, original in saved:
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
