"""Where a relayed answer goes. `Collector` keeps the text and token count (a shadow's answer);
`ClientSink` also writes to the client, in the client's API (`replies`).

A streaming client's response opens with the first output, not before: until then nothing has
been sent and the request may still move to another backend; once it is open the router is
committed to this backend (`committed`), and a failure can only end the stream with an error.
A non-streamed answer is sent whole at the end, so it never commits early.
"""

from __future__ import annotations

from aiohttp import web

from crossfade.bench.protocol import RequestRecord
from crossfade.rollout.router.front import CanonicalRequest
from crossfade.rollout.router.replies import reply_for
from crossfade.rollout.router.upstream import Piece

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


class Collector:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.total = 0  # output tokens taken, as the tally counted them
        self.input_tokens: int | None = None

    @property
    def committed(self) -> bool:
        return False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def reset(self) -> None:
        """Forget a failed attempt's partial output before the next backend's."""
        self.parts, self.total, self.input_tokens = [], 0, None

    async def take(self, pieces: list[Piece], record: RequestRecord) -> None:
        self.input_tokens = record.server_input_tokens
        for piece in pieces:
            self.parts.append(piece.text)
            self.total += piece.tokens


class ClientSink(Collector):
    def __init__(self, http_request: web.Request, request: CanonicalRequest) -> None:
        super().__init__()
        self.http_request = http_request
        self.request = request
        self.reply = reply_for(request)
        self.response: web.StreamResponse | None = None

    @property
    def committed(self) -> bool:
        return self.response is not None

    async def take(self, pieces: list[Piece], record: RequestRecord) -> None:
        if not self.request.stream:
            await super().take(pieces, record)
            return
        self.input_tokens = record.server_input_tokens
        encoded = []
        for piece in pieces:
            self.parts.append(piece.text)
            self.total += piece.tokens
            encoded.append(
                self.reply.event(piece.text, piece.tokens, self.total, self.input_tokens)
            )
        response = await self._open()
        await response.write(b"".join(encoded))

    async def succeed(self) -> web.StreamResponse:
        """End a good answer: the stream's closing events, or the whole body."""
        if not self.request.stream:
            body = self.reply.whole(self.text, self.total, self.input_tokens)
            return web.json_response(body)
        try:
            response = await self._open()
            await response.write(self.reply.finish(self.total, self.input_tokens))
            await response.write_eof()
        except ConnectionError:  # the client left after the last token: nothing more to say
            return self.response or web.Response(status=499)
        return response

    async def fail_midstream(self, message: str) -> web.StreamResponse:
        """End a started stream with an in-band error: the client must see a failure."""
        assert self.response is not None
        try:
            await self.response.write(self.reply.error_event(message, 502))
            await self.response.write_eof()
        except ConnectionError:
            pass
        return self.response

    def refuse(self, message: str, status: int) -> web.StreamResponse:
        """An error answer before anything was sent: the status and the client's error body."""
        return web.json_response(self.reply.error_body(message, status), status=status)

    async def _open(self) -> web.StreamResponse:
        if self.response is None:
            response = web.StreamResponse(status=200, headers=SSE_HEADERS)
            await response.prepare(self.http_request)
            self.response = response
        return self.response
