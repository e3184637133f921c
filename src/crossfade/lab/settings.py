"""Where the lab lives and which ports it uses."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


def default_lab_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "crossfade" / "lab"


@dataclass(frozen=True)
class LabSettings:
    """A lab: its folder and ports. Everything listens on 127.0.0.1 only."""

    folder: Path
    http_port: int = 18000
    grpc_port: int = 18001
    metrics_port: int = 18002
    vllm_port: int = 18100
    host: str = "127.0.0.1"
    ready_timeout_s: float = 420.0

    @property
    def model_cache(self) -> Path:
        return self.folder / "model"

    @property
    def repos(self) -> Path:
        return self.folder / "repos"

    @property
    def backends(self) -> Path:
        return self.folder / "backends"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    @property
    def state_file(self) -> Path:
        return self.folder / "state.json"

    @property
    def emulator_overrides(self) -> Path:
        """JSON file the emulator re-reads: a way to slow it down or break it mid-run."""
        return self.folder / "emulator-overrides.json"

    @property
    def shm_prefix(self) -> str:
        """Prefix of the python backend's shared-memory regions, unique to this lab folder, so
        `down` can remove regions a killed stub left in /dev/shm."""
        digest = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:10]
        return f"crossfade_lab_{digest}_"

    def ports(self) -> dict[str, int]:
        return {
            "http": self.http_port,
            "grpc": self.grpc_port,
            "metrics": self.metrics_port,
            "vllm": self.vllm_port,
        }
