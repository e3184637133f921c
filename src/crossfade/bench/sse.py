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
_LINE = re.compile(rb"([^\r\n]*)(\r\n|\n|\r)")
_BOM = b"\xef\xbb\xbf"


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
    """Incremental parser; one instance per response body."""

    __slots__ = ("_buffer", "_data", "_event", "_id", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._started = False

    @property
    def has_partial(self) -> bool:
        """True if bytes or fields are waiting for the blank line that would end their event."""
        return bool(self._buffer.strip(b"\r\n") or self._data or self._event)

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Events completed by `chunk`, in order; incomplete input is kept for the next call."""
        if (  # the common case, one whole `data:` event alone in a read, without the line loop
            not self._buffer
            and not self._data
            and self._event is None
            and chunk.startswith(b"data: ")
            and chunk.endswith(b"\n\n")
            and chunk.count(b"\n") == 2
            and b"\r" not in chunk
        ):
            self._started = True
            return [SseEvent(chunk[6:-2].decode("utf-8", errors="replace"), None, self._id)]
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._buffer = buffer  # too short to tell whether a BOM starts the stream
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        events: list[SseEvent] = []
        consumed = 0
        for match in _LINE.finditer(buffer):
            if match.group(2) == b"\r" and match.end() == len(buffer):
                break  # a CR at the very end may be the first half of a CRLF: wait for more
            consumed = match.end()
            event = self._line(match.group(1))
            if event is not None:
                events.append(event)
        self._buffer = buffer[consumed:]
        return events

    def close(self) -> list[SseEvent]:
        """Call at the end of the body: a CR held back as a possible CRLF was a line end after
        all. An event still missing its blank line is dropped, as the standard says."""
        if not self._buffer.endswith(b"\r"):
            return []
        return self.feed(b"\n")  # completes the CR as CRLF: the same single line end

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
        elif field == b"event":
            self._event = text
        elif field == b"id" and "\0" not in text:
            self._id = text
        # `retry` and unknown fields do not concern a benchmark client
        return None

    def _dispatch(self) -> SseEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], None
        if not data:
            return None
        return SseEvent("\n".join(data), event, self._id)
