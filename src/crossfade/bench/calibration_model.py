"""The calibration `crossfade calibrate` saves (and each result keeps as its `client_overhead`):
per level of concurrent streams, how much time crossfade's own client added against the
ground-truth server's log, and the highest level that stayed clean. See `calibration`."""

from __future__ import annotations

from typing import Literal

from crossfade.bench.result_model import Environment, Part

FORMAT: Literal["crossfade-calibration"] = "crossfade-calibration"
VERSION: Literal[1] = 1


class Thresholds(Part):
    """A level is clean when both p99s stay under these."""

    added_ttft_p99_ms: float = 5.0
    itl_error_p99_ms: float = 2.0


class StatsMs(Part):
    """Mean, min, p50, p99 and max in milliseconds; all None without values."""

    mean: float | None
    min: float | None
    p50: float | None
    p99: float | None
    max: float | None


class LevelFigures(Part):
    """One level's figures from its measured requests joined to the server's log."""

    concurrency: int
    requests: int
    joined: int  # requests matched to a log entry
    failed: int  # of the joined
    chunks: int
    chunk_rate_per_s: float
    added_ttft_ms: StatsMs  # client-added TTFT: send side + receive side
    send_ms: StatsMs  # server received - client sent
    receive_ms: StatsMs  # client first token - server first write
    itl_error_ms: StatsMs  # per token after the first: |client gap - server write gap|
    clean: bool


class Machine(Environment):
    load_average: list[float]  # 1, 5 and 15 minutes, at the end


class GroundTruthSettings(Part):
    ttft_ms: float
    itl_ms: float
    tokens: int


class Calibration(Part):
    format: Literal["crossfade-calibration"] = FORMAT
    version: Literal[1] = VERSION
    date: str  # ISO 8601, UTC
    machine: Machine
    server: GroundTruthSettings
    thresholds: Thresholds
    levels: list[LevelFigures]
    max_clean_concurrency: int | None  # None: no level was clean
    max_clean_chunk_rate_per_s: float | None
