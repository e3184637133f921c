"""Hand-built comparisons: one TensorRT-LLM and one vLLM target, figures chosen per test."""

from __future__ import annotations

from pathlib import Path

from crossfade.bench.protocol import ErrorKind
from crossfade.bench.summary import ErrorGroup
from crossfade.bench.sweep_index import LoadMode, SweepTarget
from crossfade.compare.model import (
    COMPARISON_FILE,
    Comparison,
    LevelComparison,
    LevelFailure,
    MetricComparison,
    PairComparison,
    TargetLevelSummary,
)

TRT = "trt"
VLLM = "vllm"
TRT_URL = "triton-trtllm://10.0.0.1:8000/ensemble"
VLLM_URL = "triton-vllm://10.0.0.2:8000/vllm_model"
BETTER = {"output_token_throughput": "higher", "ttft_p99": "lower", "itl_p99": "lower"}
UNITS = {"output_token_throughput": "tok/s", "ttft_p99": "ms", "itl_p99": "ms"}

# metric -> (TensorRT-LLM value, vLLM value, significant)
Figures = dict[str, tuple[float, float, bool]]


def metric(
    name: str, a_value: float, b_value: float, significant: bool, names: tuple[str, str]
) -> MetricComparison:
    difference = (b_value - a_value) / a_value
    spread = abs(difference) * 0.3 if significant else abs(difference) + 0.05
    winner = None
    if significant:
        b_better = (b_value > a_value) == (BETTER[name] == "higher")
        winner = names[1] if b_better else names[0]
    return MetricComparison(
        metric=name,
        better=BETTER[name],
        unit=UNITS[name],
        a_value=a_value,
        b_value=b_value,
        difference=difference,
        ci_low=difference - spread,
        ci_high=difference + spread,
        significant=significant,
        outcome="ahead" if winner else "unclear",
        winner=winner,
        repeats=3,
        verdict=f"{winner} ahead" if winner else "no significant difference",
    )


def make_comparison(
    levels: dict[float, Figures],
    *,
    trt_first: bool = True,
    emulated: bool = False,
    mode: LoadMode = "concurrency",
    trt_url: str = TRT_URL,
    vllm_url: str = VLLM_URL,
    failed: dict[float, list[str]] | None = None,
) -> Comparison:
    """`failed`: the targets that failed at a level (its figures are then not compared)."""
    names = (TRT, VLLM) if trt_first else (VLLM, TRT)
    failed = failed or {}
    level_comparisons = []
    summaries = []
    failures = []
    for level, figures in levels.items():
        if level in failed:
            level_comparisons.append(LevelComparison(level=level, metrics=[], failed=failed[level]))
            failures += [failure(name, level) for name in failed[level]]
            summaries += [summary(n, level, figures, i) for i, n in enumerate((TRT, VLLM))
                          if n not in failed[level]]  # fmt: skip
            continue
        metrics = []
        for name, (trt_value, vllm_value, significant) in figures.items():
            a, b = (trt_value, vllm_value) if trt_first else (vllm_value, trt_value)
            metrics.append(metric(name, a, b, significant, names))
        level_comparisons.append(LevelComparison(level=level, metrics=metrics))
        summaries += [summary(name, level, figures, i) for i, name in enumerate((TRT, VLLM))]
    targets = [
        SweepTarget(name=TRT, url=trt_url, emulated=emulated),
        SweepTarget(name=VLLM, url=vllm_url),
    ]
    return Comparison(
        mode=mode,
        levels=list(levels),
        targets=targets if trt_first else targets[::-1],
        workload_fingerprint="sha256:test",
        confidence=0.95,
        margin=0.05,
        resamples=1000,
        seed=0,
        summaries=summaries,
        pairs=[PairComparison(a=names[0], b=names[1], levels=level_comparisons, crossovers=[])],
        saturation=[],
        failures=failures,
    )


def summary(target: str, level: float, figures: Figures, index: int) -> TargetLevelSummary:
    """`target`'s figures at `level` (index 0: TensorRT-LLM's side of `figures`)."""
    ttft = figures.get("ttft_p99", (100.0, 100.0, False))[index]
    itl = figures.get("itl_p99", (10.0, 10.0, False))[index]
    return TargetLevelSummary(
        target=target,
        level=level,
        runs=[f"runs/{target}-{level:g}"],
        requests=100,
        failed=0,
        output_token_throughput=figures.get("output_token_throughput", (1.0, 1.0, False))[index],
        request_throughput=1.0,
        goodput=None,
        ttft_ms={"p50": ttft / 2, "p90": ttft * 0.9, "p99": ttft, "mean": ttft / 2},
        itl_ms={"p50": itl / 2, "p90": itl * 0.9, "p99": itl, "mean": itl / 2},
        e2e_ms={"p50": 1000.0, "p90": 1500.0, "p99": 2000.0, "mean": 1100.0},
        output_tokens_per_s_per_user=50.0,
    )


def failure(target: str, level: float) -> LevelFailure:
    """Every request of `target`'s one run at `level` failed: an unknown model."""
    message = "HTTP 400: unknown model"
    group = ErrorGroup(kind=ErrorKind.HTTP_STATUS, count=100, messages=[message])
    return LevelFailure(
        target=target, level=level, runs=1, failed_runs=[f"runs/{target}-{level:g}"],
        requests=100, failed=100, errors=[group],
    )  # fmt: skip


def write_comparison(folder: Path, comparison: Comparison) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / COMPARISON_FILE).write_text(comparison.model_dump_json(indent=2), encoding="utf-8")
    return folder
