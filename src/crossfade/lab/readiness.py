"""Waiting for the lab's servers: health endpoints, then one real generation per target.

A server that dies while loading is reported with the reason it gave (Triton's own "failed to
load" lines), not as a timeout.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crossfade.errors import CrossfadeError
from crossfade.lab.processes import ManagedProcess

_LOAD_FAILURE = re.compile(r"failed to load '([^']+)' version \d+: (.*?)\"?$")


class LabStartError(CrossfadeError):
    """A lab server failed to start; the message carries the server's own reason."""


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def http_post(url: str, payload: dict[str, Any], timeout: float = 60.0) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except json.JSONDecodeError:
            return exc.code, body.decode(errors="replace")


def wait_healthy(
    process: ManagedProcess, url: str, deadline: float, on_wait: Callable[[], None] | None = None
) -> None:
    """Poll `url` until it answers 200; raise with the server's reason if the process dies."""
    while True:
        if not process.alive():
            raise LabStartError(f"{process.name} exited while starting: {failure_reason(process)}")
        try:
            status, _ = http_get(url, timeout=2.0)
            if status == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise LabStartError(
                f"{process.name} was not ready in time; last log lines:\n{log_tail(process)}"
            )
        if on_wait is not None:
            on_wait()
        time.sleep(0.5)


def failure_reason(process: ManagedProcess) -> str:
    """Triton's own reasons for failed model loads, else the end of the log."""
    text = Path(process.log).read_text(encoding="utf-8", errors="replace")
    text = text[text.rfind("=== crossfade lab: starting") :]
    reasons = []
    for line in text.splitlines():
        match = _LOAD_FAILURE.search(line)
        if match:
            reasons.append(f"model '{match.group(1)}': {match.group(2)}")
    if reasons:
        return "Triton could not load:\n  " + "\n  ".join(dict.fromkeys(reasons))
    return "last log lines:\n" + log_tail(process)


def log_tail(process: ManagedProcess, lines: int = 25) -> str:
    text = Path(process.log).read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join("  " + line for line in text[-lines:])


def check_generation(name: str, url: str, payload: dict[str, Any], expect: str) -> None:
    """One real request; `expect` is the response key that must hold non-empty text."""
    status, body = http_post(url, payload, timeout=120.0)
    text = _dig(body, expect)
    if status != 200 or not isinstance(text, str) or not text:
        raise LabStartError(f"{name}: a test generation failed (HTTP {status}): {body}")


def _dig(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(body, dict):
            body = body.get(part)
        elif isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        else:
            return None
    return body
