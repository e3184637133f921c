"""A streaming server whose timing is known: the ground truth that `crossfade calibrate` and
benchmarks/client_overhead.py measure clients against.

It speaks OpenAI completions and, for TensorRT-LLM's LLM API model, Triton's generate extension
(`groundtruth_llmapi`: the text so far in every response, no token counts, the server's own
perf timestamps). Each request gets its first token `ttft_ms` after it arrives and
one more every `itl_ms`, `max_tokens` in all, on an absolute schedule (a late write does not
delay the next). It logs, per request, when it received it and when it actually wrote each
token (perf_counter_ns: the client's clock on this host), so a client's measurements can be
compared with what really happened, late writes by this server included. In its own process:

    python -m crossfade.bench.groundtruth --port 18300 --ttft-ms 50 --itl-ms 10 --log FILE
        [--queue-ms 5 --server-clock-offset-ns N]   (the LLM API model's perf timestamps)

It is a bare asyncio.Protocol with httptools (on `bench.loop`'s uvloop), so that it takes
little of the CPU the client under test needs. `received_ns` is when the read that completed the
request came off the socket: requests are answered after every read of that loop pass, so a
burst of them does not charge this server's own work to the clients' send side.

POST /v1/completions streams SSE (a chunk per token, then `data: [DONE]`) unless the body says
`"stream": false`: then one JSON body goes out when the last token is due, logged as that write
once per token. Only completed requests are logged (a client that leaves mid-stream: none).
HTTP/1.1 keep-alive; pipelined requests are answered in order, each on its schedule from when
it was read. POST /groundtruth/flush writes the log to --log and clears it; GET /health and
GET /v1/models (clients warm their connections on it); for the LLM API model, Triton's GET
/v2, /v2/health/ready, /v2/models/tensorrt_llm (its inputs), its /config and /ready.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, cast

import httptools

from crossfade.bench import groundtruth_llmapi as llmapi
from crossfade.bench import loop

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
EVENT = (
    '{"choices": [{"index": 0, "text": " tok", "finish_reason": %s}], '
    '"usage": {"prompt_tokens": 1, "completion_tokens": %d}}'
)
SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
MODELS = {"object": "list", "data": [{"id": "gt", "object": "model"}]}


def prompt_key(prompt: str) -> str:
    """How the server's log and the client's workload identify the same request."""
    return hashlib.sha256(prompt.encode()).hexdigest()[:16]


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def sse_event(position: int, finish: str) -> bytes:
    return chunk(b"data: %s\n\n" % (EVENT % (finish, position + 1)).encode())


# Token k's chunk (not the last), built once for every stream; the last token's chunk ends the
# body: it carries [DONE] and the 0-chunk in the same write.
TOKENS: list[bytes] = []
ENDING = chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"


def json_response(status: int, payload: Any, keep_alive: bool = True) -> bytes:
    return body_response(status, json.dumps(payload).encode(), keep_alive)


def body_response(status: int, body: bytes, keep_alive: bool = True) -> bytes:
    close = b"" if keep_alive else b"Connection: close\r\n"
    head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
    return head % (status, REASONS[status].encode(), len(body), close) + body


class Request(NamedTuple):
    received_ns: int
    method: bytes
    path: bytes
    body: bytes
    keep_alive: bool


class GroundTruthServer:
    def __init__(
        self,
        ttft_ms: float,
        itl_ms: float,
        log: Path,
        queue_ms: float = 0.0,
        server_clock_offset_ns: int = llmapi.DEFAULT_SERVER_CLOCK_OFFSET_NS,
    ) -> None:
        self.ttft_ns = int(ttft_ms * 1e6)
        self.itl_ns = int(itl_ms * 1e6)
        self.queue_ns = min(int(queue_ms * 1e6), self.ttft_ns)  # scheduled before its 1st token
        self.clock_offset_ns = server_clock_offset_ns
        self.log = log
        self.entries: list[dict[str, Any]] = []
        self.same_clock = False  # loop.time() is perf_counter()'s clock (CLOCK_MONOTONIC)

    def flush(self) -> bytes:
        """Write the log so far (the calibrating client asks for it after each run)."""
        self.log.write_text("".join(json.dumps(e) + "\n" for e in self.entries), encoding="utf-8")
        self.entries.clear()
        return json_response(200, {"written": str(self.log)})


class Connection(asyncio.Protocol):
    """One client connection: parses requests, answers them one at a time, in order."""

    def __init__(self, server: GroundTruthServer) -> None:
        self.server, self.loop = server, asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.read_ns, self.url, self.body = 0, b"", bytearray()
        self.waiting: deque[Request] = deque()
        self.current: Request | None = None  # the request being answered
        self.timer: asyncio.TimerHandle | None = None
        self.stream, self.key, self.tokens, self.position, self.first_due = True, "", 0, 0, 0
        self.ending = b""
        self.sent: list[int] = []
        self.answer: llmapi.LlmApiAnswer | None = None  # an LLM API request's; None: OpenAI's
        self.sse = True  # the answer is an SSE stream (else one JSON body)
        ready = (b"GET", lambda: json_response(200, {"ok": True}))
        model = llmapi.MODEL_PATH
        # path -> (method, handler): a handler returns its whole reply, or b"" to answer later
        self.routes: dict[bytes, tuple[bytes, Callable[[], bytes]]] = {
            b"/v1/completions": (b"POST", self.start_completion),
            b"/groundtruth/flush": (b"POST", server.flush),
            b"/health": ready,
            b"/v1/models": (b"GET", lambda: json_response(200, MODELS)),
            model + b"/generate_stream": (b"POST", lambda: self.start_llmapi(sse=True)),
            model + b"/generate": (b"POST", lambda: self.start_llmapi(sse=False)),
            model: (b"GET", lambda: json_response(200, llmapi.METADATA)),
            model + b"/config": (b"GET", lambda: json_response(200, llmapi.CONFIG)),
            model + b"/ready": ready,
            b"/v2": (b"GET", lambda: json_response(200, llmapi.SERVER)),
            b"/v2/health/ready": ready,
        }

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None  # the response being streamed, if any, is dropped
        if self.timer is not None:
            self.timer.cancel()

    def data_received(self, data: bytes) -> None:
        self.read_ns = time.perf_counter_ns()  # the received_ns of a request this read ends
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self.waiting.clear()
            if self.transport is not None and self.current is None:
                self.transport.write(json_response(400, {"error": "bad HTTP"}, False))
            self.close()
            return
        if self.waiting and self.current is None:  # after the other reads of this loop pass,
            self.loop.call_soon(self.answer_next)  # so their received_ns do not wait for it

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self.url, self.body = b"", bytearray()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        path = httptools.parse_url(self.url).path
        keep_alive = self.parser.should_keep_alive()
        method = self.parser.get_method()
        self.waiting.append(Request(self.read_ns, method, path, bytes(self.body), keep_alive))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def answer_next(self) -> None:
        while self.current is None and self.waiting and self.transport is not None:
            self.current = request = self.waiting.popleft()
            method, handler = self.routes.get(request.path, (b"", lambda: b""))
            if not method:
                reply = json_response(404, {"error": f"not found: {request.path.decode()}"})
            elif request.method != method:
                reply = json_response(405, {"error": f"use {method.decode()}"})
            else:
                reply = handler()
            if reply:  # answered at once; a completion answers later, from its timer
                self.transport.write(reply)
                self.done()

    def done(self) -> None:
        request, self.current = self.current, None
        if request is not None and not request.keep_alive:
            self.close()

    def start_completion(self) -> bytes:
        request = self.current
        assert request is not None
        try:
            body = json.loads(request.body)
            tokens = int(body.get("max_tokens", 16))
            prompt, stream = str(body.get("prompt", "")), bool(body.get("stream", True))
        except (ValueError, TypeError, AttributeError) as error:
            return json_response(400, {"error": f"bad request body: {error}"})
        if tokens < 1:
            return json_response(400, {"error": "max_tokens must be at least 1"})
        while len(TOKENS) < tokens:
            TOKENS.append(sse_event(len(TOKENS), "null"))
        self.answer, self.sse = None, stream
        self.begin(prompt, tokens, stream)
        if stream:
            self.ending = sse_event(tokens - 1, '"length"') + ENDING
            assert self.transport is not None
            self.transport.write(SSE_HEAD)
        else:  # wait for the last token only, then write them all
            choice = {"index": 0, "text": " tok" * tokens, "finish_reason": "length"}
            usage = {"prompt_tokens": 1, "completion_tokens": tokens}
            payload = {"object": "text_completion", "choices": [choice], "usage": usage}
            self.ending = json_response(200, payload, request.keep_alive)
        self.write_due()
        return b""

    def begin(self, prompt: str, tokens: int, stream: bool) -> None:
        """The schedule of the request being answered: `stream`, a write per token."""
        assert self.current is not None
        self.key, self.tokens, self.stream, self.sent = prompt_key(prompt), tokens, stream, []
        self.first_due = self.current.received_ns + self.server.ttft_ns
        self.position = 0 if stream else tokens - 1  # not streamed: only the last is written

    def start_llmapi(self, sse: bool) -> bytes:
        """generate_stream (`sse`) or generate for the LLM API model (`groundtruth_llmapi`)."""
        request, server = self.current, self.server
        assert request is not None
        assert self.transport is not None
        try:
            asked = llmapi.read_request(request.body)
        except (ValueError, RecursionError) as error:
            return json_response(400, {"error": str(error)})
        self.answer = llmapi.LlmApiAnswer(
            asked, request.received_ns, server.queue_ns, server.clock_offset_ns
        )
        self.sse = sse
        self.begin(asked.prompt, asked.tokens, sse and asked.streaming)
        if sse:
            self.transport.write(SSE_HEAD)
        self.write_due()
        return b""

    def llmapi_bytes(self, answer: llmapi.LlmApiAnswer, last: bool, now: int) -> bytes:
        """What is written for the LLM API model's token now due: its response (the whole answer
        when not streamed), framed as an SSE event or a JSON body."""
        if self.stream:
            body = answer.response(self.position, now)
        else:
            body = answer.whole(self.tokens, self.first_due, now)
        if not self.sse:
            assert self.current is not None
            return body_response(200, body, self.current.keep_alive)
        event = chunk(b"data: %s\n\n" % body)
        return event + b"0\r\n\r\n" if last else event

    def write_due(self) -> None:
        """Write every token now due, then set a timer for the next one."""
        self.timer = None
        while self.transport is not None:
            due = self.first_due + self.position * self.server.itl_ns
            if (wait := due - time.perf_counter_ns()) > 0:
                # A timer at the first whole ms after `due` on loop.time(), which is then
                # perf_counter's clock (uvloop's rounded down to whole ms), fires at or after
                # it; on another clock, whole ms from now (write_due waits on if it is early).
                when = math.ceil(due / 1e6) / 1e3
                if self.server.same_clock and self.loop.time() < when:
                    self.timer = self.loop.call_at(when, self.write_due)
                else:
                    self.timer = self.loop.call_later(math.ceil(wait / 1e6) / 1e3, self.write_due)
                return
            last = self.position == self.tokens - 1
            now = time.perf_counter_ns()
            self.sent += [now] if self.stream else [now] * self.tokens
            if (answer := self.answer) is not None:
                self.transport.write(self.llmapi_bytes(answer, last, now))
            else:
                self.transport.write(self.ending if last else TOKENS[self.position])
            self.position += 1
            if last:
                assert self.current is not None
                received = self.current.received_ns
                entry = {"key": self.key, "received_ns": received, "sent_ns": self.sent}
                if answer is not None:
                    entry |= answer.log_fields()
                self.server.entries.append(entry)
                self.done()
                self.answer_next()
                return


async def serve(server: GroundTruthServer, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server.same_clock = abs(loop.time() - time.perf_counter()) < 0.002
    listener = await loop.create_server(lambda: Connection(server), host, port, backlog=4096)
    async with listener:
        await listener.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="crossfade's ground-truth streaming server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18300)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument(
        "--queue-ms",
        type=float,
        default=0.0,
        help="LLM API model: its perf timestamps put first_scheduled this long after arrival",
    )
    parser.add_argument(
        "--server-clock-offset-ns",
        type=int,
        default=llmapi.DEFAULT_SERVER_CLOCK_OFFSET_NS,
        help="LLM API model: its perf timestamps are perf_counter_ns() plus this",
    )
    args = parser.parse_args()
    server = GroundTruthServer(
        args.ttft_ms, args.itl_ms, args.log, args.queue_ms, args.server_clock_offset_ns
    )
    with contextlib.suppress(KeyboardInterrupt):
        loop.run(serve(server, args.host, args.port))


if __name__ == "__main__":
    main()
