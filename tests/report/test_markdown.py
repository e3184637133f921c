"""The markdown report for pull requests: verdicts and tables with confidence intervals."""

from __future__ import annotations

from pathlib import Path

from crossfade.cli import main
from crossfade.compare.model import COMPARISON_FILE, Comparison
from crossfade.report import load_report, render_markdown
from crossfade.report.text import percent
from tests.report.saved import EMULATED_LABEL, REAL, bare_mentions, save_sweep_folder


def test_the_comparison_table_has_every_difference_with_its_interval(tmp_path: Path) -> None:
    folder = save_sweep_folder(tmp_path / "sweep")
    comparison = Comparison.model_validate_json((folder / COMPARISON_FILE).read_text())
    text = render_markdown(load_report([folder]))
    assert "| Level | Metric |" in text
    assert "| 95% CI |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "% CI" not in line]
    for level in comparison.pairs[0].levels:
        for metric in level.metrics:
            interval = f"[{percent(metric.ci_low)}, {percent(metric.ci_high)}]"
            difference = percent(metric.difference)
            shown = f"**{difference}**" if metric.significant else difference
            assert any(
                row.startswith(f"| {level.level:g} |") and interval in row and shown in row
                for row in rows
            ), (level.level, metric.metric)
    crossover = comparison.pairs[0].crossovers[0]
    assert f"{REAL} is ahead of {EMULATED_LABEL} from concurrency {crossover.from_level:g}" in text


def test_markdown_marks_the_emulated_target_and_is_reproducible(tmp_path: Path) -> None:
    folder = save_sweep_folder(tmp_path / "sweep")
    text = render_markdown(load_report([folder]))
    assert bare_mentions(text) == []
    assert text.count(EMULATED_LABEL) > 10
    assert "<script" not in text  # tables and words only
    output = tmp_path / "report.md"
    assert main(["report", str(folder), "-o", str(output), "--format", "markdown"]) == 0
    assert output.read_text(encoding="utf-8") == text
