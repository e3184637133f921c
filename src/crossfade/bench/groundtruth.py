"""A streaming server whose timing is known: the ground truth that `crossfade calibrate` and
benchmarks/client_overhead.py measure clients against.

It speaks OpenAI completions (SSE). Each request gets its first token `ttft_ms` after it
arrives and one more every `itl_ms`, `max_tokens` in all, on an absolute schedule. It logs, per
request, when it received it and when it actually wrote each token (perf_counter_ns: the same
clock as the client's on this host), so a client's measurements can be compared with what
really happened, late writes by this server included. Run it in its own process:

    python -m crossfade.bench.groundtruth --port 18300 --ttft-ms 50 --itl-ms 10 --log FILE
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from aiohttp import web


def prompt_key(prompt: str) -> str:
    """How the server's log and the client's workload identify the same request."""
    return hashlib.sha256(prompt.encode()).hexdigest()[:16]


class GroundTruthServer:
    def __init__(self, ttft_ms: float, itl_ms: float, log: Path) -> None:
        self.ttft_ns = int(ttft_ms * 1e6)
        self.itl_ns = int(itl_ms * 1e6)
        self.log = log
        self.entries: list[dict[str, Any]] = []

    async def completions(self, request: web.Request) -> web.StreamResponse:
        received_ns = time.perf_counter_ns()
        body = await request.json()
        tokens = int(body.get("max_tokens", 16))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        sent: list[int] = []
        for position in range(tokens):
            due = received_ns + self.ttft_ns + position * self.itl_ns
            wait = due - time.perf_counter_ns()
            if wait > 0:
                await asyncio.sleep(wait / 1e9)
            finish = "length" if position == tokens - 1 else None
            chunk = {
                "choices": [{"index": 0, "text": " tok", "finish_reason": finish}],
                "usage": {"prompt_tokens": 1, "completion_tokens": position + 1},
            }
            payload = f"data: {json.dumps(chunk)}\n\n".encode()
            sent.append(time.perf_counter_ns())
            await response.write(payload)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        self.entries.append(
            {
                "key": prompt_key(str(body.get("prompt", ""))),
                "received_ns": received_ns,
                "sent_ns": sent,
            }
        )
        return response

    async def flush_log(self, request: web.Request) -> web.Response:
        """Write the log so far (the calibrating client asks for it after each run)."""
        self.log.write_text("".join(json.dumps(e) + "\n" for e in self.entries), encoding="utf-8")
        self.entries.clear()
        return web.json_response({"written": str(self.log)})

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})


def make_app(server: GroundTruthServer) -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/completions", server.completions)
    app.router.add_post("/groundtruth/flush", server.flush_log)
    app.router.add_get("/health", server.health)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="crossfade's ground-truth streaming server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18300)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a core dependency on Linux
        pass
    server = GroundTruthServer(args.ttft_ms, args.itl_ms, args.log)
    web.run_app(make_app(server), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
