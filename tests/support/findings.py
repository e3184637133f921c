"""Findings as (code, file, line), the shape lint tests compare, and the one finding every
repository in the legacy engine layout gets."""

from __future__ import annotations

from pathlib import Path

from crossfade.findings import Finding


def located(findings: list[Finding]) -> set[tuple[str, str, int | None]]:
    return {(f.code, f.file, f.line) for f in findings}


def engine_layout_removed(repos: Path) -> tuple[str, str, None]:
    """(code, file, line) of the warning a legacy engine repository gets, once: the rendered
    `tensorrtllm/` of the 8B example is the engine layout."""
    return ("trtllm-engine-layout-removed", str(repos / "tensorrtllm"), None)
