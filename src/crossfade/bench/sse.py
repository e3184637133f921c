"""A sans-IO Server-Sent-Events parser: feed it bytes as they arrive, get whole events back.

It follows the WHATWG event-stream rules that matter for LLM servers: lines end in CRLF, LF or
CR; an empty line ends an event; `data:` lines join with a newline; lines starting with `:` are
comments; one space after the colon is dropped; an event with no data is not dispatched; a
leading UTF-8 BOM is ignored. Lines are split on bytes and decoded whole, so a multi-byte
character cut by a chunk boundary decodes correctly. It does no I/O and keeps no clock: callers
timestamp a read before feeding it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DONE = "[DONE]"  # OpenAI's end-of-stream sentinel, sent as an event's data
MAX_EVENT_BYTES = 8 * 1024 * 1024  # a line, or an event's data; LLM chunks are far smaller
_LINE_END = re.compile(rb"\r\n?|\n")
_BOM = b"\xef\xbb\xbf"


class SseError(ValueError):
    """A stream no client should hold in memory: a line or an event past `MAX_EVENT_BYTES`."""


@dataclass(slots=True)  # not frozen: a frozen init costs more, once per streamed chunk
class SseEvent:
    data: str
    event: str | None = None  # the `event:` field, when the server named the event type
    id: str | None = None

    @property
    def done(self) -> bool:
        """True for OpenAI's `data: [DONE]` terminator."""
        return self.data == DONE


class SseParser:
    """Incremental parser; one instance per response body.

    Bytes after the last line end wait in `_pending`, one piece per read, and are joined once
    their line ends: a long line arriving in many reads costs its length once, not once per
    read. `feed` raises `SseError` past `MAX_EVENT_BYTES`."""

    __slots__ = ("_data", "_data_size", "_event", "_id", "_pending", "_pending_size", "_started")

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # no line end in them, except maybe a final CR
        self._pending_size = 0
        self._data: list[str] = []
        self._data_size = 0
        self._event: str | None = None
        self._id: str | None = None
        self._started = False

    @property
    def has_partial(self) -> bool:
        """True if bytes or fields are waiting for the blank line that would end their event."""
        partial = any(piece.strip(b"\r\n") for piece in self._pending)
        return partial or bool(self._data or self._event)

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Events completed by `chunk`, in order; incomplete input is kept for the next call."""
        if (  # the common case, one whole `data:` event alone in a read, without the line loop
            not self._pending
            and not self._data
            and self._event is None
            and chunk.startswith(b"data: ")
            and chunk.endswith(b"\n\n")
            and chunk.count(b"\n") == 2
            and b"\r" not in chunk
        ):
            self._started = True
            return [SseEvent(chunk[6:-2].decode("utf-8", errors="replace"), None, self._id)]
        if self._started and not self._held_cr() and b"\n" not in chunk and b"\r" not in chunk:
            self._hold(chunk)  # the middle of a line: nothing to look at until it ends
            return []
        buffer = b"".join((*self._pending, chunk)) if self._pending else chunk
        self._pending, self._pending_size = [], 0
        if not self._started:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._hold(buffer)  # too short to tell whether a BOM starts the stream
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        events: list[SseEvent] = []
        start, size = 0, len(buffer)
        for match in _LINE_END.finditer(buffer):
            end, next_start = match.span()
            if next_start == size and buffer.endswith(b"\r"):
                break  # a CR at the very end may be the first half of a CRLF: wait for more
            event = self._line(buffer[start:end])
            start = next_start
            if event is not None:
                events.append(event)
        if start < size:
            self._hold(buffer[start:])
        return events

    def close(self) -> list[SseEvent]:
        """Call at the end of the body: a CR held back as a possible CRLF was a line end after
        all. An event still missing its blank line is dropped, as the standard says."""
        if not self._held_cr():
            return []
        return self.feed(b"\n")  # completes the CR as CRLF: the same single line end

    def _held_cr(self) -> bool:
        return bool(self._pending) and self._pending[-1].endswith(b"\r")

    def _hold(self, piece: bytes) -> None:
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size > MAX_EVENT_BYTES:
            raise SseError(f"a line of over {MAX_EVENT_BYTES:,} bytes without its end")

    def _line(self, line: bytes) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(b":"):
            return None  # a comment, e.g. a keep-alive
        field, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        text = value.decode("utf-8", errors="replace")
        if field == b"data":
            self._data.append(text)
            self._data_size += len(value) + 1
            if self._data_size > MAX_EVENT_BYTES:
                raise SseError(f"an event of over {MAX_EVENT_BYTES:,} bytes of data")
        elif field == b"event":
            self._event = text
        elif field == b"id" and "\0" not in text:
            self._id = text
        # `retry` and unknown fields do not concern a benchmark client
        return None

    def _dispatch(self) -> SseEvent | None:
        data, event = self._data, self._event
        self._data, self._event, self._data_size = [], None, 0
        if not data:
            return None
        return SseEvent("\n".join(data), event, self._id)
