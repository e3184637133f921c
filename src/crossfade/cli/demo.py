"""`crossfade demo`: the lab, a comparison of its three targets, the report and the advice."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Start the lab if it is not running, compare vLLM on Triton, native vLLM and "
        "TensorRT-LLM's LLM API model (the lab's emulated one, with the server's own timings) "
        "over a concurrency sweep, and write report.html, advice.md and every run. About 3 "
        "minutes on 2 cores."
    )
    parser.add_argument(
        "-o", "--output", metavar="DIR", default="crossfade-demo", help="default: crossfade-demo"
    )
    # As DemoSettings' defaults (tests/test_demo.py holds them equal).
    parser.add_argument("--levels", metavar="N,N,...", default="1,4,16", help="concurrency")
    parser.add_argument("--repeat", type=int, default=3, help="runs per target and level")
    parser.add_argument("--keep-lab", action="store_true", help="leave a lab it started running")
    parser.add_argument("--lab-dir", metavar="DIR", help="lab folder (default: the lab's own)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console

    from crossfade.bench.console import SweepConsole
    from crossfade.bench.runner import Interrupt
    from crossfade.cli.bench_inputs import PROGRESS_INTERVAL_S
    from crossfade.cli.stopping import EXIT_TARGET_FAILED, run_until_stopped, signal_exit_code
    from crossfade.demo import DEMO_TARGETS, DemoOutcome, DemoSettings, run_demo
    from crossfade.errors import UsageError
    from crossfade.lab.settings import LabSettings, default_lab_dir

    try:
        levels = tuple(sorted({int(part) for part in args.levels.split(",")}))
    except ValueError:
        raise UsageError(f"--levels {args.levels}: give whole numbers like 1,2,4,8") from None
    if not levels or levels[0] < 1 or args.repeat < 1:
        raise UsageError("--levels needs concurrencies of 1 or more, --repeat 1 or more")
    settings = DemoSettings(Path(args.output), levels, args.repeat, keep_lab=args.keep_lab)
    lab = LabSettings(Path(args.lab_dir) if args.lab_dir else default_lab_dir())
    console = Console(stderr=True)

    def say(message: str) -> None:
        console.print(f"demo: {message}", soft_wrap=True, highlight=False)

    async def main(interrupt: Interrupt) -> DemoOutcome:
        total = len(DEMO_TARGETS) * len(levels) * args.repeat
        with SweepConsole(console, total, args.repeat, PROGRESS_INTERVAL_S) as progress:
            return await run_demo(settings, lab, say, progress, interrupt)

    outcome, interrupt = run_until_stopped(main)
    _print(outcome)
    by_signal = signal_exit_code(interrupt)
    if by_signal is not None:
        return by_signal
    if outcome.comparison is not None and outcome.comparison.failures:
        return EXIT_TARGET_FAILED
    return 0 if outcome.index.stop_reason == "completed" and outcome.advice else 1


def _print(outcome: object) -> None:
    from crossfade.advise.render import headline
    from crossfade.demo import EXAMPLE_FACTS, DemoOutcome, headline_verdicts

    assert isinstance(outcome, DemoOutcome)
    print(f"\ncrossfade demo: {outcome.seconds:.0f} s, sweep {outcome.index.stop_reason}")
    for note in outcome.notes:
        print(f"  {note}")
    if outcome.comparison is not None:
        lines = headline_verdicts(outcome.comparison)
        print("\n".join(f"  {line}" for line in lines))
    if outcome.advice is not None:
        facts = ", ".join(f"{k}={v}" for k, v in EXAMPLE_FACTS.model_dump().items())
        print(f"\nadvice on example facts ({facts}):")
        print("\n".join(f"  {line}" for line in headline(outcome.advice)))
        if outcome.projection is not None:
            print(f"\n  projection: {outcome.projection.note}")
        print(f"\n  report:     {outcome.report}")
        print(f"  advice:     {outcome.advice_file}")
    print(f"  runs:       {outcome.sweep}/runs/ (comparison.json and sweep.json beside them)")
