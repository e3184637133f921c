"""Compare the saved runs of a sweep: per pair of targets and load level, the difference of each
metric with its bootstrap confidence interval, the crossover and saturation loads, and the
levels where a target failed (nothing is compared there). Reads saved results only
(`bench.results`, `bench.sweep_index`); runs nothing."""

from crossfade.compare.analysis import analyse_sweep
from crossfade.compare.model import CompareError, Comparison, load_comparison, save_comparison
from crossfade.compare.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES
from crossfade.compare.verdicts import verdict_lines

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "CompareError",
    "Comparison",
    "analyse_sweep",
    "load_comparison",
    "save_comparison",
    "verdict_lines",
]
