"""How the gRPC client classifies failures: the pure status mapping, then over real sockets (a
closed port, and a real grpc.aio server speaking KServe's GRPCInferenceService)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
from tritonclient.grpc import service_pb2, service_pb2_grpc

from crossfade.bench.clients.triton_grpc import TritonGrpcClient, grpc_error_kind
from crossfade.bench.protocol import BenchRequest, ErrorKind, RequestRecord
from crossfade.bench.targets import parse_target
from tests.support.grpc_server import serving

REJECTIONS = ["INVALID_ARGUMENT", "NOT_FOUND", "INTERNAL", "RESOURCE_EXHAUSTED", "UNKNOWN"]


# --- the mapping, pure ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "had_response", "kind"),
    [
        ("UNAVAILABLE", False, ErrorKind.CONNECT),
        ("DEADLINE_EXCEEDED", False, ErrorKind.TIMEOUT),
        ("DEADLINE_EXCEEDED", True, ErrorKind.TIMEOUT),
        *[(code, False, ErrorKind.HTTP_STATUS) for code in REJECTIONS],
        ("CANCELLED", False, ErrorKind.HTTP_STATUS),  # the server's cancelling, not ours
        ("UNAVAILABLE", True, ErrorKind.TRUNCATED),
        ("INTERNAL", True, ErrorKind.TRUNCATED),
        ("CANCELLED", True, ErrorKind.TRUNCATED),
    ],
)
def test_status_mapping(status: str, had_response: bool, kind: ErrorKind) -> None:
    assert grpc_error_kind(status, had_response) == kind
    # tritonclient's InferenceServerException.status() spells the same code "StatusCode.X"
    assert grpc_error_kind(f"StatusCode.{status}", had_response) == kind


@pytest.mark.parametrize("had_response", [False, True])
def test_a_cancellation_of_ours_is_cancelled(had_response: bool) -> None:
    assert grpc_error_kind("CANCELLED", had_response, cancelled_here=True) == ErrorKind.CANCELLED
    assert grpc_error_kind("StatusCode.CANCELLED", had_response, cancelled_here=True) == (
        ErrorKind.CANCELLED
    )


# --- over real sockets ------------------------------------------------------------------------


def _response(tokens: int) -> Any:
    response = service_pb2.ModelStreamInferResponse()
    infer = response.infer_response
    infer.outputs.add(name="text_output", datatype="BYTES", shape=[1])
    infer.raw_output_contents.append(b"\x01\x00\x00\x00a")
    infer.outputs.add(name="num_output_tokens", datatype="INT32", shape=[1])
    infer.raw_output_contents.append(tokens.to_bytes(4, "little"))
    return response


def _error_response(message: str) -> Any:
    return service_pb2.ModelStreamInferResponse(error_message=message)


class _Servicer(service_pb2_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc]
    """ModelStreamInfer only: per request, send `responses`, then abort with `abort` (a status
    and details), or hang when `hang` (the client must end it); other RPCs are UNIMPLEMENTED,
    which the client's start() tolerates."""

    def __init__(
        self, responses: list[Any], abort: tuple[Any, str] | None = None, hang: bool = False
    ) -> None:
        self.responses, self.abort, self.hang = responses, abort, hang

    async def ModelStreamInfer(self, requests: Any, context: Any) -> AsyncIterator[Any]:
        async for _ in requests:
            for response in self.responses:
                yield response
            if self.abort is not None:
                await context.abort(*self.abort)
            if self.hang:
                await asyncio.sleep(60)
            return


@asynccontextmanager
async def _server(servicer: _Servicer) -> AsyncIterator[TritonGrpcClient]:
    """A started client of a real server running `servicer`."""
    async with serving(servicer) as (_, port), _client(port) as client:
        yield client


@asynccontextmanager
async def _client(port: int, timeout_s: float = 10) -> AsyncIterator[TritonGrpcClient]:
    target = parse_target(f"triton-grpc-trtllm://127.0.0.1:{port}/m")
    client = TritonGrpcClient(target, request_timeout_s=timeout_s)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


def _request() -> tuple[BenchRequest, RequestRecord]:
    request = BenchRequest(0, "hello", 1, 2)
    return request, RequestRecord(0, 1, 2, scheduled_ns=0)


async def _send(client: TritonGrpcClient) -> RequestRecord:
    request, record = _request()
    await client.send(request, record)
    return record


def _through_server(servicer: _Servicer) -> RequestRecord:
    async def go() -> RequestRecord:
        async with _server(servicer) as client:
            return await _send(client)

    return asyncio.run(go())


def _closed_port() -> int:
    with socket.socket() as probe:  # a port that was just free: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_nothing_listening_is_a_connect_error() -> None:
    async def go() -> RequestRecord:
        async with _client(_closed_port()) as client:
            return await _send(client)

    record = asyncio.run(go())
    assert record.error_kind == ErrorKind.CONNECT, record.error
    assert (record.error or "").startswith("gRPC UNAVAILABLE: ")
    assert record.http_status is None
    assert not record.first_byte_ns
    assert record.end_ns >= record.sent_ns > 0


@pytest.mark.parametrize("code", [*REJECTIONS, "CANCELLED"])
def test_a_status_before_any_response_is_the_servers_rejection(code: str) -> None:
    record = _through_server(_Servicer([], abort=(grpc.StatusCode[code], "no such model")))
    assert record.error_kind == ErrorKind.HTTP_STATUS, record.error
    assert record.error == f"gRPC {code}: no such model"
    assert record.http_status is None  # gRPC has none; the code is in the message
    assert not record.first_byte_ns
    assert record.end_ns >= record.sent_ns > 0


def test_the_servers_unavailable_and_deadline_statuses() -> None:
    record = _through_server(_Servicer([], abort=(grpc.StatusCode.UNAVAILABLE, "draining")))
    assert (record.error_kind, record.error) == (ErrorKind.CONNECT, "gRPC UNAVAILABLE: draining")
    record = _through_server(_Servicer([], abort=(grpc.StatusCode.DEADLINE_EXCEEDED, "late")))
    assert record.error_kind == ErrorKind.TIMEOUT
    assert record.error == "gRPC DEADLINE_EXCEEDED: late"


def test_a_status_after_a_response_is_truncated() -> None:
    record = _through_server(_Servicer([_response(1)], abort=(grpc.StatusCode.INTERNAL, "died")))
    assert (record.error_kind, record.error) == (ErrorKind.TRUNCATED, "gRPC INTERNAL: died")
    assert record.chunk_tokens == [1]
    assert record.first_byte_ns > 0


def test_in_band_errors_first_or_later() -> None:
    record = _through_server(_Servicer([_error_response("unknown model 'm'")]))
    assert (record.error_kind, record.error) == (ErrorKind.HTTP_STATUS, "unknown model 'm'")
    assert record.http_status is None
    record = _through_server(_Servicer([_response(1), _error_response("engine died")]))
    assert (record.error_kind, record.error) == (ErrorKind.STREAM_ERROR, "engine died")


def test_the_server_stopping_mid_stream_is_truncated() -> None:
    async def go() -> RequestRecord:
        servicer = _Servicer([_response(1)], hang=True)
        async with serving(servicer) as (server, port), _client(port) as client:
            request, record = _request()
            task = asyncio.create_task(client.send(request, record))
            await _first_response(record)
            await server.stop(None)  # cancels its calls: UNAVAILABLE at the client
            await task
            return record

    record = asyncio.run(go())
    assert record.error_kind == ErrorKind.TRUNCATED, record.error
    assert (record.error or "").startswith("gRPC UNAVAILABLE: ")


def test_closing_the_client_under_a_request_is_cancelled_and_not_raised() -> None:
    async def go() -> RequestRecord:
        async with _server(_Servicer([_response(1)], hang=True)) as client:
            request, record = _request()
            task = asyncio.create_task(client.send(request, record))
            await _first_response(record)
            await client.close()
            await task  # the task itself was not cancelled: send returns
            return record

    record = asyncio.run(go())
    assert record.error_kind == ErrorKind.CANCELLED, record.error
    assert record.end_ns > record.first_byte_ns


def test_cancelling_the_task_is_cancelled_and_passed_on() -> None:
    async def go() -> RequestRecord:
        async with _server(_Servicer([_response(1)], hang=True)) as client:
            request, record = _request()
            task = asyncio.create_task(client.send(request, record))
            await _first_response(record)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return record

    record = asyncio.run(go())
    assert record.error_kind == ErrorKind.CANCELLED, record.error
    assert record.error == "the run stopped with the request in flight"


def test_the_clients_own_deadline_is_a_timeout() -> None:
    async def go() -> RequestRecord:
        servicer = _Servicer([], hang=True)
        async with serving(servicer) as (_, port), _client(port, timeout_s=0.2) as client:
            return await _send(client)

    record = asyncio.run(go())
    assert record.error_kind == ErrorKind.TIMEOUT, record.error


async def _first_response(record: RequestRecord) -> None:
    """Wait until the client has read the first response (a poll: the client exposes no event)."""
    for _ in range(2000):
        if record.first_byte_ns:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("no first response within 10 s")
