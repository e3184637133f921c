"""The bytes every answer shape writes: SSE events of compact JSON, and the pieces the per-token
paths build them from (an event's fixed start, encoded once per answer; the text, per token)."""

from __future__ import annotations

import json
import json.encoder
from typing import Any

from crossfade.bench.dialects.base import ServerTimes

DONE = b"data: [DONE]\n\n"
Times = ServerTimes | None  # a backend's own clock, when it reports it
text_json = json.encoder.encode_basestring_ascii  # what json.dumps does to a str, in C


def sse(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def open_object(head: dict[str, Any]) -> bytes:
    """`data: ` and the JSON of `head` without its closing brace: the fixed start of every
    event of one answer, encoded once. Per token only the text is encoded, and the bytes are
    the same as `sse()` of the whole event (tests/rollout/router/test_replies.py)."""
    return b"data: " + json.dumps(head, separators=(",", ":")).encode()[:-1]
