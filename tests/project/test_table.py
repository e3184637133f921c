"""The projection on the terminal: marked as projected, every point, the points not projected
with their reason, what each backend was projected with, and the crossovers."""

from __future__ import annotations

from rich.console import Console

from crossfade.project.table import projection_table
from tests.project.test_model import projection


def test_the_table_says_projected_and_shows_every_point_and_crossover() -> None:
    console = Console(width=200, record=True)
    console.print(projection_table(projection()))
    text = console.export_text()
    lines = text.splitlines()
    assert lines[0].startswith("PROJECTED (AIConfigurator 0.12.0, measured kernels), not")
    rows = [line.split() for line in lines if line.strip()[:1].isdigit()]
    assert [row[:2] for row in rows] == [
        ["1", "TensorRT-LLM"], ["1", "vLLM"], ["8", "TensorRT-LLM"], ["8", "vLLM"],
        ["32", "TensorRT-LLM"], ["32", "vLLM"],
    ]  # fmt: skip
    assert rows[4][2:4] == ["not", "projected"]
    assert rows[5][2:] == ["625.0", "50.00", "640", "160", "20.0"]
    assert "TensorRT-LLM (projected) at 32: not projected: OOM: too big" in text
    assert (
        "TensorRT-LLM (projected): trtllm test database, tp 4 x pp 1 (test), GEMM fp8, KV cache "
        "fp8, attention bfloat16"
    ) in text
    assert "output tokens/s per GPU: TensorRT-LLM and vLLM" not in text
    assert "output tokens/s per GPU: TensorRT-LLM not projected at the highest" in text
