"""crossfade's protocol clients end to end: every target kind the lab serves, streamed and whole,
must give exactly the requested length by the server's own count, with sane timestamps; and each
protocol's failures must land in the record as the right error kind. A scripted local server
covers the failures a healthy lab never shows (streams that break or end early, in-band errors,
deadlines, cancellation).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import pytest
from aiohttp import web

from crossfade.bench.clients import make_client
from crossfade.bench.protocol import BenchRequest, Client, ErrorKind, RequestRecord
from crossfade.bench.targets import parse_target
from crossfade.lab.settings import LabSettings

N = 32
PROMPT = "The quick brown fox jumps over the lazy dog"


class Lab(Protocol):
    settings: LabSettings


# (target kind, URL template, emulated TensorRT-LLM?)
KINDS = {
    "vllm-triton-http": ("triton-vllm://{host}:{http}/vllm_model", False),
    "vllm-triton-grpc": ("triton-grpc-vllm://{host}:{grpc}/vllm_model", False),
    "ensemble-http": ("triton-trtllm://{host}:{http}/ensemble", True),
    "bls-http": ("triton-trtllm://{host}:{http}/tensorrt_llm_bls", True),
    "ensemble-grpc": ("triton-grpc-trtllm://{host}:{grpc}/ensemble", True),
    "vllm-openai": ("openai://{host}:{vllm}/v1?model=tiny-llama", False),
    "vllm-openai-chat": ("openai-chat://{host}:{vllm}/v1?model=tiny-llama", False),
}


def _url(lab: Lab, kind: str, **override: Any) -> str:
    s = lab.settings
    ports = {"host": s.host, "http": s.http_port, "grpc": s.grpc_port, "vllm": s.vllm_port}
    return KINDS[kind][0].format(**{**ports, **override})


def _request(index: int, stream: bool, output_tokens: int = N) -> BenchRequest:
    return BenchRequest(index, f"{PROMPT} {index}", 10, output_tokens, stream)


def _record(request: BenchRequest) -> RequestRecord:
    return RequestRecord(
        request.index, request.prompt_tokens, request.output_tokens, scheduled_ns=0
    )


async def _send_all(client: Client, requests: list[BenchRequest]) -> list[RequestRecord]:
    records = [_record(r) for r in requests]
    await asyncio.gather(*(client.send(r, rec) for r, rec in zip(requests, records, strict=True)))
    return records


def _run(url: str, requests: list[BenchRequest], **options: Any) -> list[RequestRecord]:
    async def go() -> list[RequestRecord]:
        client = make_client(parse_target(url), **options)
        await client.start()
        try:
            return await _send_all(client, requests)
        finally:
            await client.close()

    return asyncio.run(go())


def _closed_port() -> int:
    with socket.socket() as probe:  # a port that was just free: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_exact_length_and_timestamps(lab: Lab, kind: str, stream: bool) -> None:
    requests = [_request(i, stream) for i in range(3)]
    records = _run(_url(lab, kind), requests, concurrency=3, request_timeout_s=120)
    for record in records:
        assert record.ok, (record.error_kind, record.error)
        assert record.server_output_tokens == N  # verify_length passed: the server counted N
        assert (record.server_input_tokens or 0) > 0
        assert record.output_chars > 0
        if stream:
            assert sum(record.chunk_tokens) == N
            assert len(record.chunk_ns) > 1
        else:
            assert record.chunk_tokens == [N]  # the whole answer is one chunk
        assert all(t > 0 for t in record.chunk_tokens)
        assert record.sent_ns < record.first_byte_ns <= record.chunk_ns[0]
        assert all(a <= b for a, b in itertools.pairwise(record.chunk_ns))
        assert record.chunk_ns[-1] <= record.end_ns
        assert record.error is None


@pytest.mark.parametrize("kind", list(KINDS))
def test_server_info(lab: Lab, kind: str) -> None:
    async def go() -> dict[str, Any]:
        client = make_client(parse_target(_url(lab, kind)))
        await client.start()
        try:
            return await client.server_info()
        finally:
            await client.close()

    info = asyncio.run(go())
    assert "error" not in info, info
    assert info["server_version"]
    if info["protocol"] == "openai":
        assert "tiny-llama" in info["served_models"]
    else:
        assert info["server"] == "triton"
        assert info["decoupled"] is True
        assert info["crossfade_emulated"] is KINDS[kind][1]
        assert info["platform"] == ("ensemble" if "ensemble" in kind else "python")


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("vllm-triton-http", "unknown model"),
        ("ensemble-http", "unknown model"),
        ("vllm-triton-grpc", "unknown model"),  # rejected in-band: the gRPC form of a 4xx
        ("ensemble-grpc", "unknown model"),
        ("vllm-openai", "does not exist"),
        ("vllm-openai-chat", "does not exist"),
    ],
)
def test_wrong_model_is_the_servers_rejection(lab: Lab, kind: str, text: str) -> None:
    url = _url(lab, kind).replace("vllm_model", "no_such_model").replace("ensemble", "nope")
    url = url.replace("model=tiny-llama", "model=no-such-model")
    for record in _run(url, [_request(0, True), _request(1, False)], request_timeout_s=60):
        assert record.error_kind == ErrorKind.HTTP_STATUS, record.error
        assert text in (record.error or "")
        assert record.http_status == (None if "grpc" in kind else 404)
        assert not record.chunk_ns
        assert record.end_ns >= record.sent_ns > 0


@pytest.mark.parametrize("kind", ["vllm-triton-http", "ensemble-grpc", "vllm-openai-chat"])
def test_closed_port_is_a_connect_error(lab: Lab, kind: str) -> None:
    port = _closed_port()
    url = _url(lab, kind, http=port, grpc=port, vllm=port)
    for record in _run(url, [_request(0, True)], request_timeout_s=30):
        assert record.error_kind == ErrorKind.CONNECT, record.error
        assert not record.first_byte_ns


def test_bad_sampling_parameter_is_reported_with_the_servers_text(lab: Lab) -> None:
    async def go() -> RequestRecord:
        from crossfade.bench.clients.triton_http import TritonHttpClient

        client = TritonHttpClient(
            parse_target(_url(lab, "vllm-triton-http")), sampling={"no_such_knob": 1}
        )
        await client.start()
        try:
            return (await _send_all(client, [_request(0, True)]))[0]
        finally:
            await client.close()

    record = asyncio.run(go())
    assert record.error_kind == ErrorKind.HTTP_STATUS  # first response an error: a 400
    assert "no_such_knob" in (record.error or "")


# --- a scripted local server: failures the healthy lab never shows ----------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
VLLM_EVENT = b'data: {"text_output": "a", "num_output_tokens": 1, "finish_reason": "None"}\n\n'
VLLM_LAST = b'data: {"text_output": "b", "num_output_tokens": 1, "finish_reason": "length"}\n\n'
TRTLLM_EVENT = b'data: {"text_output": "a", "num_output_tokens": 1}\n\n'


@asynccontextmanager
async def _scripted(handler: Handler) -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, handler_cancellation=True)  # a client gone ends its handler
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def _sse(*events: bytes, pause_s: float = 0.0, cut: bool = False) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in events:
            await response.write(event)
            await asyncio.sleep(pause_s)
        if cut and request.transport is not None:
            request.transport.close()  # the connection breaks mid-body
        return response

    return handler


def _scripted_run(scheme_path: str, handler: Handler, request: BenchRequest) -> RequestRecord:
    async def go() -> RequestRecord:
        async with _scripted(handler) as port:
            client = make_client(parse_target(scheme_path.format(port=port)), request_timeout_s=5)
            await client.start()
            try:
                return (await _send_all(client, [request]))[0]
            finally:
                await client.close()

    return asyncio.run(go())


VLLM = "triton-vllm://127.0.0.1:{port}/m"
TRTLLM = "triton-trtllm://127.0.0.1:{port}/m"
OPENAI = "openai://127.0.0.1:{port}/v1?model=m"


def test_vllm_stream_with_its_final_response_is_complete() -> None:
    record = _scripted_run(VLLM, _sse(VLLM_EVENT, VLLM_LAST), _request(0, True, 2))
    assert record.ok, record.error
    assert (record.chunk_tokens, record.server_output_tokens) == ([1, 1], 2)


def test_vllm_stream_ending_before_its_final_response_is_truncated() -> None:
    record = _scripted_run(VLLM, _sse(VLLM_EVENT, VLLM_EVENT), _request(0, True, 2))
    assert record.error_kind == ErrorKind.TRUNCATED
    assert record.chunk_tokens == [1, 1]  # what did arrive is kept


def test_trtllm_stream_ends_with_the_body() -> None:
    record = _scripted_run(TRTLLM, _sse(TRTLLM_EVENT, TRTLLM_EVENT), _request(0, True, 2))
    assert record.ok, record.error
    assert record.end_ns >= record.chunk_ns[-1]


def test_stream_that_breaks_mid_way_is_truncated() -> None:
    handler = _sse(TRTLLM_EVENT, pause_s=0.05, cut=True)
    record = _scripted_run(TRTLLM, handler, _request(0, True, 2))
    assert record.error_kind == ErrorKind.TRUNCATED, record.error
    assert record.chunk_tokens == [1]


def test_in_band_error_under_200_is_a_stream_error() -> None:
    handler = _sse(VLLM_EVENT, b'data: {"error": "engine died"}\n\n')
    record = _scripted_run(VLLM, handler, _request(0, True, 2))
    assert record.error_kind == ErrorKind.STREAM_ERROR
    assert record.error == "engine died"
    assert record.http_status == 200


@pytest.mark.parametrize("event", [b"data: [1, 2]\n\n", b"data: {not json\n\n"])
def test_unreadable_event_is_recorded_not_raised(event: bytes) -> None:
    record = _scripted_run(VLLM, _sse(VLLM_EVENT, event), _request(0, True, 2))
    assert record.error_kind == ErrorKind.OTHER
    assert "unreadable response" in (record.error or "")


def test_short_output_is_flagged_by_the_servers_count() -> None:
    record = _scripted_run(VLLM, _sse(VLLM_LAST), _request(0, True, 2))
    assert record.error_kind == ErrorKind.SHORT_OUTPUT
    assert record.server_output_tokens == 1


def test_openai_stream_needs_a_finish_reason_or_done() -> None:
    chunk = b'data: {"choices": [{"text": "a", "finish_reason": null}]}\n\n'
    record = _scripted_run(OPENAI, _sse(chunk, chunk), _request(0, True, 2))
    assert record.error_kind == ErrorKind.TRUNCATED
    assert record.chunk_tokens == [1, 1]  # no usage: one token per chunk with text
    usage = b'data: {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}\n\n'
    record = _scripted_run(
        OPENAI, _sse(chunk, chunk, usage, b"data: [DONE]\n\n"), _request(1, True, 2)
    )
    assert record.ok, record.error
    assert (record.server_output_tokens, record.server_input_tokens) == (2, 3)


def test_deadline_is_a_timeout() -> None:
    handler = _sse(VLLM_EVENT, VLLM_EVENT, pause_s=10.0)

    async def go() -> RequestRecord:
        async with _scripted(handler) as port:
            client = make_client(parse_target(VLLM.format(port=port)), request_timeout_s=0.3)
            await client.start()
            try:
                return (await _send_all(client, [_request(0, True, 2)]))[0]
            finally:
                await client.close()

    record = asyncio.run(go())
    assert record.error_kind == ErrorKind.TIMEOUT
    assert record.chunk_tokens == [1]
    assert 0.25e9 < record.end_ns - record.sent_ns < 2e9


def test_cancelling_the_run_records_and_propagates() -> None:
    handler = _sse(VLLM_EVENT, pause_s=10.0)

    async def go() -> RequestRecord:
        async with _scripted(handler) as port:
            client = make_client(parse_target(VLLM.format(port=port)))
            await client.start()
            record = _record(_request(0, True, 2))
            task = asyncio.create_task(client.send(_request(0, True, 2), record))
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await client.close()
            return record

    record = asyncio.run(go())
    assert record.error_kind == ErrorKind.CANCELLED
    assert record.end_ns > record.sent_ns


# --- a scripted gRPC server -------------------------------------------------------------------


def _grpc_response(tokens: int | None, final: bool = False, error: str = "") -> Any:
    from tritonclient.grpc import service_pb2

    response = service_pb2.ModelStreamInferResponse(error_message=error)
    infer = response.infer_response
    if tokens is not None:
        infer.outputs.add(name="text_output", datatype="BYTES", shape=[1])
        infer.raw_output_contents.append(b"\x01\x00\x00\x00a")
        infer.outputs.add(name="num_output_tokens", datatype="INT32", shape=[1])
        infer.raw_output_contents.append(tokens.to_bytes(4, "little"))
    infer.parameters["triton_final_response"].bool_param = final
    return response


def _grpc_run(script: list[Any], abort: bool = False) -> RequestRecord:
    import grpc  # type: ignore[import-untyped]
    from tritonclient.grpc import service_pb2_grpc

    class Servicer(service_pb2_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc]
        async def ModelStreamInfer(self, requests: Any, context: Any) -> AsyncIterator[Any]:
            async for _ in requests:
                for response in script:
                    yield response
                if abort:
                    await context.abort(grpc.StatusCode.INTERNAL, "server fell over")
                return

    async def go() -> RequestRecord:
        server = grpc.aio.server()
        service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(Servicer(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            url = f"triton-grpc-trtllm://127.0.0.1:{port}/m"
            client = make_client(parse_target(url), request_timeout_s=5)
            await client.start()
            try:
                return (await _send_all(client, [_request(0, True, 2)]))[0]
            finally:
                await client.close()
        finally:
            await server.stop(None)

    return asyncio.run(go())


def test_grpc_final_flag_on_an_empty_response_ends_the_request() -> None:
    record = _grpc_run([_grpc_response(1), _grpc_response(1), _grpc_response(None, final=True)])
    assert record.ok, record.error
    assert (record.chunk_tokens, record.server_output_tokens) == ([1, 1], 2)


def test_grpc_stream_ending_before_the_final_flag_is_truncated() -> None:
    record = _grpc_run([_grpc_response(1)])
    assert record.error_kind == ErrorKind.TRUNCATED
    record = _grpc_run([_grpc_response(1)], abort=True)
    assert record.error_kind == ErrorKind.TRUNCATED
    assert "server fell over" in (record.error or "")


def test_grpc_errors_first_or_later() -> None:
    record = _grpc_run([_grpc_response(None, error="rejected")])
    assert (record.error_kind, record.error) == (ErrorKind.HTTP_STATUS, "rejected")
    record = _grpc_run([_grpc_response(1), _grpc_response(None, error="engine died")])
    assert (record.error_kind, record.error) == (ErrorKind.STREAM_ERROR, "engine died")
    record = _grpc_run([], abort=True)
    assert record.error_kind == ErrorKind.HTTP_STATUS
    assert record.error == "gRPC INTERNAL: server fell over"
