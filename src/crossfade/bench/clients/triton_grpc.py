"""Triton's gRPC API (KServe v2 `ModelStreamInfer`), one bidirectional stream per request.

Decoupled models (every LLM backend) answer only on the streaming RPC, whether or not the
request asks the model to stream. Each request sets `triton_enable_empty_final_response`, so
Triton marks the request's last response with the `triton_final_response` parameter (on a
response with outputs, or on an empty one): that is the end marker for every Triton dialect.
tritonclient's own `stream_infer` cannot set it (it rejects `triton_`-prefixed parameters), so
this client drives the generated stub from tritonclient's protos directly; that also lets it
timestamp each raw message before any decoding, and decode only the outputs the dialect reads.
Tokens per chunk are the responses' `num_output_tokens` where the model counts them (the LLM
API model does not: see `bench.lengths`).

Error mapping, aligned with HTTP: an error as the very first response is the request's rejection
(over HTTP, the same error is a 4xx), so HTTP_STATUS with the server's text; a later in-band
error is STREAM_ERROR. An RPC that ends with a non-OK status is mapped by `grpc_error_kind`, and
its message is "gRPC <CODE>: <details>"; `http_status` stays None (gRPC has no HTTP status).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Container, Iterable
from time import perf_counter_ns
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.protobuf.json_format import MessageToDict
from tritonclient.grpc import service_pb2, service_pb2_grpc

from crossfade.bench.clients import info_header, triton_model_facts
from crossfade.bench.dialects.base import UNREADABLE, Dialect, Tensor
from crossfade.bench.protocol import BenchRequest, ErrorKind, RequestRecord
from crossfade.bench.tally import ResponseTally
from crossfade.bench.targets import TargetSpec

INFO_TIMEOUT_S = 10.0
FINAL = "triton_final_response"
# The details of a call cancelled on the client side, in grpc.aio and in tritonclient alike
LOCAL_CANCEL_DETAILS = "Locally cancelled by application!"
_OPTIONAL_INPUTS = frozenset(
    {"return_finish_reason", "return_num_input_tokens", "return_num_output_tokens"}
)
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def grpc_error_kind(status: str, had_response: bool, *, cancelled_here: bool = False) -> ErrorKind:
    """The ErrorKind of an RPC that ended with a non-OK `status`.

    `status` is a status code name: grpc's `StatusCode.NOT_FOUND.name` ("NOT_FOUND") or
    tritonclient's `InferenceServerException.status()` ("StatusCode.NOT_FOUND"). `had_response`:
    a response arrived before the status. `cancelled_here`: this client cancelled the call (a
    CANCELLED status can also come from the server, which is then its failure, not ours).

    A deadline is TIMEOUT whenever it falls; after a response any other status broke the stream
    (TRUNCATED). Before one, UNAVAILABLE is the transport failing (refused, reset, not an HTTP/2
    peer, a server shutting down: CONNECT, as a break before any byte over HTTP); any other code
    is the server refusing the request, the gRPC form of a non-2xx (HTTP_STATUS).
    """
    if cancelled_here:
        return ErrorKind.CANCELLED
    code = status.removeprefix("StatusCode.")
    if code == "DEADLINE_EXCEEDED":
        return ErrorKind.TIMEOUT
    if had_response:
        return ErrorKind.TRUNCATED
    if code == "UNAVAILABLE":
        return ErrorKind.CONNECT
    return ErrorKind.HTTP_STATUS


# Triton datatype -> struct code of one little-endian element (BF16 has none: never read)
_STRUCT_CODES = {
    "BOOL": "?",
    "INT8": "b",
    "UINT8": "B",
    "INT16": "h",
    "UINT16": "H",
    "INT32": "i",
    "UINT32": "I",
    "INT64": "q",
    "UINT64": "Q",
    "FP16": "e",
    "FP32": "f",
    "FP64": "d",
}


def raw_tensor(tensor: Tensor) -> bytes:
    """Triton's raw_input_contents encoding: BYTES as 4-byte little-endian length + bytes."""
    if tensor.datatype == "BYTES":
        return b"".join(struct.pack("<I", len(item)) + item for item in tensor.value.flat)
    return struct.pack(f"<{tensor.value.size}{_STRUCT_CODES[tensor.datatype]}", *tensor.value.flat)


def _raw_values(datatype: str, raw: bytes) -> list[Any] | None:
    if datatype == "BYTES":
        values, at = [], 0
        while at + 4 <= len(raw):
            size = int.from_bytes(raw[at : at + 4], "little")
            values.append(raw[at + 4 : at + 4 + size].decode("utf-8", "replace"))
            at += 4 + size
        return values
    code = _STRUCT_CODES.get(datatype)
    if code is None:
        return None
    return list(struct.unpack(f"<{len(raw) // struct.calcsize(code)}{code}", raw))


def raw_outputs_as_json(
    outputs: Iterable[tuple[str, str]], contents: Iterable[bytes], names: Container[str]
) -> dict[str, Any]:
    """Outputs ((name, datatype) and raw contents) in the shape the HTTP generate extension
    gives them: one-element tensors unwrapped, BYTES as text, so one dialect parser serves
    both transports. Only `names` are decoded; no numpy on this per-response path."""
    event: dict[str, Any] = {}
    for (name, datatype), raw in zip(outputs, contents, strict=False):
        if name in names and (values := _raw_values(datatype, raw)) is not None:
            event[name] = values[0] if len(values) == 1 else values
    return event


class TritonGrpcClient:
    """One gRPC channel (HTTP/2 multiplexes the concurrent streams); see the module doc."""

    def __init__(
        self,
        spec: TargetSpec,
        dialect: Dialect | None = None,
        *,
        request_timeout_s: float | None = None,
    ) -> None:
        self.spec = spec
        self.dialect = dialect or spec.dialect
        self._timeout_s = request_timeout_s
        self._batched: bool | None = None  # the model's max_batch_size > 0; None: unread
        self._left_out: frozenset[str] = frozenset()  # optional inputs the model lacks
        self._channel: Any = None
        self._stub: Any = None

    async def start(self) -> None:
        self._channel = grpc.aio.insecure_channel(self.spec.address, options=_CHANNEL_OPTIONS)
        self._stub = service_pb2_grpc.GRPCInferenceServiceStub(self._channel)
        try:  # best effort: if the server is not there, the requests will say so
            metadata, config = await self._model_documents()
        except (grpc.aio.AioRpcError, TimeoutError):
            return
        inputs = frozenset(str(item.get("name")) for item in metadata.get("inputs", []))
        self._left_out = _OPTIONAL_INPUTS - inputs  # older repositories lack return_num_*
        self._batched = int(config.get("max_batch_size") or 0) > 0

        async def read_inputs() -> frozenset[str]:  # read above, with the config
            return inputs

        self.dialect = await self.dialect.opened(read_inputs)

    async def _model_documents(self) -> tuple[dict[str, Any], dict[str, Any]]:
        async with asyncio.timeout(INFO_TIMEOUT_S):
            name = self.spec.model
            metadata = await self._stub.ModelMetadata(service_pb2.ModelMetadataRequest(name=name))
            config = await self._stub.ModelConfig(service_pb2.ModelConfigRequest(name=name))
        return (
            MessageToDict(metadata, preserving_proto_field_name=True),
            MessageToDict(config.config, preserving_proto_field_name=True),
        )

    def tensors(self, request: BenchRequest) -> list[Tensor]:
        return self.dialect.grpc_inputs(request.generation(), batched=self._batched)

    def message(self, request: BenchRequest) -> Any:
        """The ModelInferRequest for `request`, leaving out optional inputs the model lacks."""
        message = service_pb2.ModelInferRequest(model_name=self.spec.model, id=str(request.index))
        for tensor in self.tensors(request):
            if tensor.name in self._left_out:
                continue
            message.inputs.add(name=tensor.name, datatype=tensor.datatype, shape=tensor.value.shape)
            message.raw_input_contents.append(raw_tensor(tensor))
        message.parameters["triton_enable_empty_final_response"].bool_param = True
        return message

    async def send(self, request: BenchRequest, record: RequestRecord) -> None:
        if self._stub is None:
            raise RuntimeError("TritonGrpcClient.send before start()")
        message = self.message(request)
        tally = ResponseTally(record)
        record.sent_ns = perf_counter_ns()
        call = self._stub.ModelStreamInfer()
        try:
            async with asyncio.timeout(self._timeout_s):
                await call.write(message)
                # Half-close at once: Triton still answers the request in flight, then ends the
                # RPC, so its end follows the final response without another round trip.
                await call.done_writing()
                if not await self._read(call, tally):
                    while await call.read() is not grpc.aio.EOF:  # finish the RPC cleanly
                        pass
        except TimeoutError:
            call.cancel()
            record.fail(ErrorKind.TIMEOUT, f"no final response within {self._timeout_s} s", _now())
        except asyncio.CancelledError:
            call.cancel()
            # grpc.aio also raises CancelledError from a call cancelled on this side while our
            # task is not (close() cancels the channel's calls): record that, but pass on only
            # a cancellation of the task itself.
            stopping = _task_cancelling()
            why = "the run stopped" if stopping else "the client closed the call"
            record.fail(ErrorKind.CANCELLED, f"{why} with the request in flight", _now())
            if stopping:
                raise
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError) as exc:
            if not tally.final:
                await self._rpc_failed(call, exc, record)
        except UNREADABLE as exc:
            call.cancel()
            record.fail(ErrorKind.OTHER, f"unreadable response: {exc!r}", _now())
        self._finish(record)

    def _finish(self, record: RequestRecord) -> None:
        record.end_ns = record.end_ns or _now()
        if self.dialect.forces_length:  # otherwise the length asked was a cap
            record.verify_length()

    async def _read(self, call: Any, tally: ResponseTally) -> bool:
        """Read up to the final response (or an error); True if the stream already ended."""
        record, parse, read = tally.record, self.dialect.parse, self.dialect.grpc_outputs
        while True:
            response = await call.read()
            now = perf_counter_ns()  # first thing: before any decoding
            if response is grpc.aio.EOF:
                if record.error_kind is None:
                    message = "the stream ended before its final response"
                    record.fail(ErrorKind.TRUNCATED, message, now)
                return True
            if not record.first_byte_ns:
                record.first_byte_ns = now
                first = True
            else:
                first = False
            if response.error_message:
                kind = ErrorKind.HTTP_STATUS if first else ErrorKind.STREAM_ERROR
                record.fail(kind, response.error_message, now)
                return False
            infer = response.infer_response
            if infer.outputs:  # the empty final response has none
                outputs = ((out.name, out.datatype) for out in infer.outputs)
                contents = infer.raw_output_contents  # Triton always answers in raw form
                event = parse(raw_outputs_as_json(outputs, contents, read))
                if event.error is not None:
                    record.fail(ErrorKind.STREAM_ERROR, event.error, now)
                    return False
                tally.add(event, now)
            if (FINAL in infer.parameters and infer.parameters[FINAL].bool_param) or tally.final:
                tally.final = True
                record.end_ns = now
                return False

    @staticmethod
    async def _rpc_failed(call: Any, exc: BaseException, record: RequestRecord) -> None:
        if isinstance(exc, grpc.aio.AioRpcError):
            # never a cancellation of ours: grpc.aio raises CancelledError for those
            code, details, ours = exc.code(), exc.details(), False
        else:  # write() on a call that already ended: its status says why
            code, details = await call.code(), await call.details()
            ours = code == grpc.StatusCode.CANCELLED and details == LOCAL_CANCEL_DETAILS
        kind = grpc_error_kind(code.name, bool(record.first_byte_ns), cancelled_here=ours)
        record.fail(kind, f"gRPC {code.name}: {details}", _now())

    async def server_info(self) -> dict[str, Any]:
        """Server and model facts from ServerMetadata, ModelMetadata and ModelConfig; a failure
        is reported under "error", never raised."""
        info = info_header(self.spec)
        if self._stub is None:
            info["error"] = "server_info before start()"
            return info
        try:
            async with asyncio.timeout(INFO_TIMEOUT_S):
                server = await self._stub.ServerMetadata(service_pb2.ServerMetadataRequest())
            info["server"], info["server_version"] = server.name, server.version
            metadata, config = await self._model_documents()
            info.update(triton_model_facts(metadata, config))
        except grpc.aio.AioRpcError as exc:
            info["error"] = f"gRPC {exc.code().name}: {exc.details()}"
        except TimeoutError:
            info["error"] = f"no answer within {INFO_TIMEOUT_S} s"
        return info

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None


def _now() -> int:
    return perf_counter_ns()


def _task_cancelling() -> bool:
    """Whether the running task has a cancellation pending (the runner stopping it)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
