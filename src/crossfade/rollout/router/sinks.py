"""Where a relayed answer goes. `Collector` keeps the text and token count (a shadow's answer);
`ClientSink` also writes to the client, in the client's API (`replies`).

`take` is called from inside the upstream connection's read, once per event with output, and
`flush` at the end of that read writes what it brought to the client's socket in one write: no
task wakes per token, and one send for a read that carried several events.

A streaming client's response opens with the first output, not before: until then nothing has
been sent and the request may still move to another backend; once it is open the router is
committed to this backend (`committed`), and a failure can only end the stream with an error.
A non-streamed answer is sent whole at the end, so it never commits early.
"""

from __future__ import annotations

from collections.abc import Callable

from crossfade.bench.dialects.base import ServerTimes
from crossfade.bench.protocol import RequestRecord
from crossfade.rollout.router.front import CanonicalRequest
from crossfade.rollout.router.http_server import Responder
from crossfade.rollout.router.replies import reply_for


class Collector:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.total = 0  # output tokens taken, as the tally counted them
        self.input_tokens: int | None = None
        self.server_times: ServerTimes | None = None  # the backend's own clock, if it told

    @property
    def committed(self) -> bool:
        return False

    @property
    def gone(self) -> bool:
        """Nobody waits for this answer any more (the client left)."""
        return False

    def on_gone(self, callback: Callable[[], None] | None) -> None:
        """Call `callback` if the reader goes away (a collector's never does)."""

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def reset(self) -> None:
        """Forget a failed attempt's partial output before the next backend's."""
        self.parts, self.total, self.input_tokens, self.server_times = [], 0, None, None

    def take(self, text: str, tokens: int, record: RequestRecord) -> None:
        self.input_tokens = record.server_input_tokens
        self.server_times = record.server_times
        self.parts.append(text)
        self.total += tokens

    def flush(self) -> None:
        """Nothing to send on."""


class ClientSink(Collector):
    def __init__(self, responder: Responder, request: CanonicalRequest) -> None:
        super().__init__()
        self.responder = responder
        self.request = request
        self.reply = reply_for(request)
        self._unsent: list[bytes] = []  # events taken in this read, not yet written

    @property
    def committed(self) -> bool:
        """Bytes went to the client. Output taken but not yet written is not sent: an attempt
        that fails in the same read can still fall back."""
        return self.responder.started

    def reset(self) -> None:
        if self.parts:  # a failed attempt's output went into the reply's own state too
            self.reply = reply_for(self.request)
        super().reset()
        self._unsent = []

    @property
    def gone(self) -> bool:
        return self.responder.gone

    def on_gone(self, callback: Callable[[], None] | None) -> None:
        self.responder.on_gone = callback

    def take(self, text: str, tokens: int, record: RequestRecord) -> None:
        super().take(text, tokens, record)
        if self.request.stream:
            out = self.reply.event(text, tokens, self.total, self.input_tokens, self.server_times)
            if out:  # a shape that answers once, at the end, has nothing to send per step
                self._unsent.append(out)

    def flush(self) -> None:
        if not self._unsent:
            return
        if not self.responder.started:
            self.responder.start_stream()
        data = self._unsent[0] if len(self._unsent) == 1 else b"".join(self._unsent)
        self._unsent.clear()
        self.responder.write(data)

    def succeed(self) -> None:
        """End a good answer: the stream's closing events, or the whole body."""
        if not self.request.stream:
            body = self.reply.whole(self.text, self.total, self.input_tokens, self.server_times)
            self.responder.send_json(200, body)
            return
        unsent = b"".join(self._unsent)  # the last read's events, with the end in one write
        if not self.responder.started:
            self.responder.start_stream()
        self.responder.end(
            unsent + self.reply.finish(self.total, self.input_tokens, self.server_times)
        )

    def fail_midstream(self, message: str) -> None:
        """End a started stream with an in-band error: the client must see a failure."""
        unsent = b"".join(self._unsent)
        self.responder.end(unsent + self.reply.error_event(message, 502))

    def refuse(self, message: str, status: int) -> None:
        """An error answer before anything was sent: the status and the client's error body."""
        self.responder.send_json(status, self.reply.error_body(message, status))
