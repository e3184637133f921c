"""The gRPC client against a real grpc.aio server answering as TensorRT-LLM's LLM API model does
(the ground-truth server speaks HTTP only): the inputs it receives, and a record of the text so
far cut to new text, the BYTES timestamps read, and Triton's final flag as the end."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any

from tritonclient.grpc import service_pb2, service_pb2_grpc

from crossfade.bench.clients.triton_grpc import TritonGrpcClient
from crossfade.bench.dialects.base import ServerTimes
from crossfade.bench.dialects.triton_llmapi import PERF_TIMESTAMPS
from crossfade.bench.protocol import BenchRequest, RequestRecord
from crossfade.bench.targets import parse_target
from tests.support.grpc_server import serving

DECLARED = ("text_input", "streaming", "sampling_param_max_tokens", "sampling_param_temperature")
STAMPS = (100, 150, 900, 1_000)


def _bytes(*items: str) -> bytes:
    return b"".join(struct.pack("<I", len(i.encode())) + i.encode() for i in items)


def _inputs(request: Any) -> dict[str, Any]:
    """The request's inputs by name, decoded from their raw contents."""
    values: dict[str, Any] = {}
    for tensor, raw in zip(request.inputs, request.raw_input_contents, strict=True):
        if tensor.datatype == "BYTES":
            values[tensor.name] = raw[4:].decode()
        else:
            code = {"BOOL": "?", "INT32": "i"}[tensor.datatype]
            values[tensor.name] = struct.unpack(f"<{code}", raw)[0]
    return values


class _LlmApi(service_pb2_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc]
    """Answers each request with one response per token, text_output the text so far, the four
    timestamps as BYTES digits (as upstream builds them), the last marked final."""

    def __init__(self, declared: tuple[str, ...]) -> None:
        self.declared, self.received = declared, list[dict[str, Any]]()

    async def ModelMetadata(self, request: Any, context: Any) -> Any:
        metadata = service_pb2.ModelMetadataResponse(name=request.name, versions=["1"])
        for name in self.declared:
            metadata.inputs.add(name=name, datatype="BYTES", shape=[-1])
        return metadata

    async def ModelConfig(self, request: Any, context: Any) -> Any:
        response = service_pb2.ModelConfigResponse()
        response.config.name, response.config.backend = request.name, "python"
        response.config.model_transaction_policy.decoupled = True
        return response

    async def ModelStreamInfer(self, requests: Any, context: Any) -> AsyncIterator[Any]:
        async for request in requests:
            inputs = _inputs(request)
            self.received.append(inputs)
            tokens = inputs["sampling_param_max_tokens"]
            for k in range(1, tokens + 1):
                response = service_pb2.ModelStreamInferResponse()
                infer = response.infer_response
                infer.outputs.add(name="text_output", datatype="BYTES", shape=[1])
                infer.raw_output_contents.append(_bytes("ab" * k))
                for name, value in zip(PERF_TIMESTAMPS, STAMPS, strict=True):
                    infer.outputs.add(name=name, datatype="BYTES", shape=[1])
                    infer.raw_output_contents.append(_bytes(str(value + k)))
                infer.parameters["triton_final_response"].bool_param = k == tokens
                yield response


def _run(declared: tuple[str, ...]) -> tuple[RequestRecord, list[dict[str, Any]]]:
    async def go() -> tuple[RequestRecord, list[dict[str, Any]]]:
        servicer = _LlmApi(declared)
        async with serving(servicer) as (_, port):
            target = parse_target(f"triton-grpc-llmapi://127.0.0.1:{port}/tensorrt_llm")
            client = TritonGrpcClient(target, request_timeout_s=10)
            await client.start()
            record = RequestRecord(0, 1, 3, scheduled_ns=0)
            try:
                await client.send(BenchRequest(0, "hello", 1, 3), record)
            finally:
                await client.close()
            return record, servicer.received

    return asyncio.run(go())


def test_a_streamed_request_to_the_llm_api_model_over_grpc() -> None:
    record, received = _run(DECLARED)
    assert record.ok, record.error
    assert received == [
        {"text_input": "hello", "streaming": True, "sampling_param_max_tokens": 3}
    ]  # no perf flag: this model does not declare it, and Triton would refuse it
    assert record.chunk_text == ["ab", "ab", "ab"]  # the text so far, cut to what is new
    assert record.chunk_tokens == [1, 1, 1]  # until counted after the run
    assert record.server_output_tokens is None
    assert record.output_chars == 6
    assert record.end_ns == record.chunk_ns[-1]  # the final flag ends it
    assert record.server_times == ServerTimes(*(value + 3 for value in STAMPS))


def test_the_perf_flag_goes_where_the_model_declares_it() -> None:
    record, received = _run((*DECLARED, "sampling_param_return_perf_metrics"))
    assert record.ok, record.error
    assert received[0]["sampling_param_return_perf_metrics"] is True
