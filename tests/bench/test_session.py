"""One run end to end: where a target's Prometheus text is looked for by default."""

from __future__ import annotations

import pytest

from crossfade.bench.session import default_metrics_url
from crossfade.bench.targets import parse_target


@pytest.mark.parametrize(
    ("url", "metrics"),
    [
        ("triton-vllm://h:8000/m", "http://h:8002/metrics"),  # Triton: HTTP port + 2
        ("triton-grpc-trtllm://h:8001/ensemble", "http://h:8002/metrics"),  # gRPC port + 1
        ("triton-vllm://[::1]:9000/m", "http://[::1]:9002/metrics"),
        ("openai://h:8100/v1?model=m", "http://h:8100/metrics"),  # vLLM: its own port
        ("openai-chat://h:8100/v1?model=m", "http://h:8100/metrics"),
        # trtllm-serve's /metrics is JSON; its Prometheus text is at /prometheus/metrics.
        ("trtllm-serve://h:8000/v1?model=m", "http://h:8000/prometheus/metrics"),
    ],
)
def test_the_default_metrics_url_of_each_kind_of_target(url: str, metrics: str) -> None:
    assert default_metrics_url(parse_target(url)) == metrics
