"""Where a running lab's servers answer, for the tests that use the real lab."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crossfade.lab.control import LabStatus
from crossfade.lab.settings import LabSettings


@dataclass(frozen=True)
class LabEndpoints:
    status: LabStatus
    model_dir: Path

    @property
    def settings(self) -> LabSettings:
        return self.status.settings

    @property
    def triton_http(self) -> str:
        return f"http://{self.settings.host}:{self.settings.http_port}"

    @property
    def triton_grpc(self) -> str:
        return f"{self.settings.host}:{self.settings.grpc_port}"

    @property
    def triton_metrics(self) -> str:
        return f"http://{self.settings.host}:{self.settings.metrics_port}/metrics"

    @property
    def vllm_http(self) -> str:
        return f"http://{self.settings.host}:{self.settings.vllm_port}"

    @property
    def vllm_metrics(self) -> str:
        return f"{self.vllm_http}/metrics"
