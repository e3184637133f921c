"""Plain HTTP helpers for integration tests: one JSON POST, one SSE stream, one GET."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def post_json(url: str, payload: dict[str, Any], timeout: float = 60.0) -> tuple[int, Any]:
    """(status, parsed JSON body); HTTP errors are returned, not raised."""
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def post_sse(url: str, payload: dict[str, Any], timeout: float = 60.0) -> tuple[int, list[Any]]:
    """(status, every `data:` event parsed as JSON, in order); stops at `[DONE]`."""
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    events: list[Any] = []
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            for raw in response:
                line = raw.decode().strip()
                if not line.startswith("data:"):
                    continue
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    break
                events.append(json.loads(data))
            return response.status, events
    except urllib.error.HTTPError as exc:
        return exc.code, [json.loads(exc.read() or b"null")]


def sse_events_any_status(url: str, payload: dict[str, Any], timeout: float = 60.0) -> list[Any]:
    """Every `data:` event of a generate_stream answer, parsed, whatever its status: Triton
    answers a stream whose first response is an error with a 400 and an SSE body."""
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            text = exc.read().decode()
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


def get_text(url: str, timeout: float = 30.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body: bytes = response.read()
        return body.decode()
