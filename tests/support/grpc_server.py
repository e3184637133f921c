"""A real grpc.aio server speaking KServe's GRPCInferenceService, for the gRPC client's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc  # type: ignore[import-untyped]
from tritonclient.grpc import service_pb2_grpc


@asynccontextmanager
async def serving(servicer: Any) -> AsyncIterator[tuple[Any, int]]:
    """`servicer` (a GRPCInferenceServiceServicer) on a free port of 127.0.0.1: (server, port)."""
    server = grpc.aio.server()
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield server, port
    finally:
        await server.stop(None)
