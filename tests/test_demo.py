"""The demo's advice names a spec file it wrote, so its commands run as printed (the whole demo
needs the lab: tests/lab/test_demo.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossfade.advise.flow import ROOT
from crossfade.cli import demo as demo_cli
from crossfade.compare import analyse_sweep
from crossfade.demo import (
    EXAMPLE_FACTS,
    EXAMPLE_SPEC,
    DemoSettings,
    advise_on_example_facts,
    headline_verdicts,
)
from crossfade.lab.control import lab_spec
from crossfade.spec.load import load_spec
from tests.advise.commands import shown_commands
from tests.compare.sweeps import RunShape, SweepBuilder


def test_the_advice_commands_name_the_example_spec_the_demo_wrote(tmp_path: Path) -> None:
    folder = tmp_path / "crossfade demo"  # a space: the commands quote it
    advice = advise_on_example_facts(folder, tmp_path / "model", [])
    spec_file = folder / EXAMPLE_SPEC
    expected = lab_spec(tmp_path / "model").model_copy(update={"deployment": EXAMPLE_FACTS})
    assert load_spec(spec_file) == expected
    assert spec_file.read_text().startswith("# crossfade demo: the lab's spec, with example")
    commands = shown_commands(advice.next_steps)
    assert ["crossfade", "render", "triton", str(spec_file), "-o", "model_repos"] in commands
    for argv in commands:
        if argv[1] in ("render", "advise"):
            assert Path(argv[3 if argv[1] == "render" else 2]).is_file(), argv
    assert not any("(example deployment facts" in step for step in advice.next_steps)
    # The lab's engine is the emulator: the demo's advice is not the migration off engines.
    assert advice.path[0] == ROOT
    assert advice.path[-1] == "either_low_load"


def test_the_demo_prints_each_pairs_throughput_verdict_failures_and_saturation(
    tmp_path: Path,
) -> None:
    sweep = SweepBuilder(tmp_path, [1.0, 2.0], ["a", "b", "down"])
    for seed, (target, level) in enumerate(
        (t, lv) for t in ("a", "b", "down") for lv in (1.0, 2.0)
    ):
        shape = RunShape(ttft_ms=100, requests=20, failures=20 if target == "down" else 0)
        sweep.add(target, level, shape, seed)
    comparison = analyse_sweep(sweep.save(), resamples=200)
    lines = headline_verdicts(comparison)
    assert lines[0].startswith("down: failed at every level measured")
    headings = [line for line in lines if " vs " in line]
    assert headings == ["b vs a at concurrency 2 (highest level):"]
    assert any(line.startswith("  output tokens/s: ") for line in lines)
    assert any(line.startswith("  crossover, output tokens/s: ") for line in lines)
    assert not any("TTFT" in line or "E2E" in line for line in lines if line.startswith(" "))
    assert sum(line.startswith("saturation, ") for line in lines) == 2


def test_the_demo_command_defaults_are_the_demo_settings() -> None:
    """Three repeats and three levels: what the comparison needs to rank (see DemoSettings)."""
    parser = argparse.ArgumentParser()
    demo_cli.configure(parser)
    args = parser.parse_args([])
    settings = DemoSettings(Path("x"))
    assert tuple(int(part) for part in args.levels.split(",")) == settings.levels
    assert args.repeat == settings.repeat >= 3
