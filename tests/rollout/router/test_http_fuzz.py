"""Property-based fuzzing of the router's HTTP front on a real socket: whatever bytes a client
sends, it gets a 2xx or 4xx answer or a closed connection, never a 500 or a logged failure,
and the router goes on serving the next well-formed request."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import event, given

from crossfade.rollout.router.config import parse_router_config
from crossfade.rollout.router.server import Router
from tests.rollout.router.harness import TOKEN, bare_triton
from tests.support.fuzz import fuzz
from tests.support.router_inputs import http_requests

pytestmark = pytest.mark.servers

STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) ")


class Failures(logging.Handler):
    """Every record of ERROR or worse the router logs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def router_port() -> Iterator[tuple[int, Failures]]:
    """A router (and its backend) on an event loop in another thread, for the whole module."""
    loop = asyncio.new_event_loop()
    ready: asyncio.Future[int] = loop.create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        async with bare_triton() as upstream:
            config = {
                "version": 1,
                "listen": {"port": 0},
                "admin": {"port": 0},
                "backends": [{"name": "a", "target": upstream.target()}],
                "sticky": {"field": "user"},
                "timeouts": {"total_s": 5},
            }
            router = Router(parse_router_config(config), TOKEN, rng=random.Random(1))
            await router.start()
            try:
                ready.set_result(router.data_port)
                await stop.wait()
            finally:
                await router.stop()

    failures = Failures()
    logger = logging.getLogger("crossfade")
    logger.addHandler(failures)
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    try:
        port = asyncio.run_coroutine_threadsafe(asyncio.wait_for(ready, 10), loop).result()
        yield port, failures
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
        logger.removeHandler(failures)


def send(port: int, request: bytes) -> bytes:
    """Send `request`, then read what comes back until the router closes. A request the router
    is still waiting on the rest of gets the end of the input (a half-close) after 0.25 s."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=0.25) as conn:
        try:
            conn.sendall(request)
        except OSError:
            return received  # refused and closed while sending
        half_closed = False
        for _ in range(400):
            try:
                data = conn.recv(65536)
            except TimeoutError:
                if half_closed:
                    continue
                conn.shutdown(socket.SHUT_WR)  # the rest never comes
                half_closed = True
                continue
            except OSError:
                break
            if not data:
                break
            received += data
        else:
            raise AssertionError(f"the router neither answered nor closed: {received[:200]!r}")
    return received


@fuzz(300, deadline_s=15)  # a bound: one example waits about 0.25 s at most
@given(request=http_requests())
def test_any_bytes_get_an_answer_or_a_close_and_the_router_serves_on(
    router_port: tuple[int, Failures], request: bytes
) -> None:
    port, failures = router_port
    received = send(port, request)
    answer = STATUS.match(received)
    event(f"answered {answer[1][:1].decode()}xx" if answer else "closed without an answer")
    assert answer is None or int(answer[1]) < 500, received[:300]
    assert answer is not None or received == b"", "not HTTP"
    assert failures.records == []
    health = send(port, b"GET /health HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n")
    assert health.startswith(b"HTTP/1.1 200 OK")
