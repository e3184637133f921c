"""`crossfade compare TARGET TARGET ...`: the same seeded workload on every target at every load
level, repeated in alternating order; every run, the sweep index and the comparison are saved.
`crossfade compare --from DIR` analyses a saved sweep again and runs nothing."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossfade.bench.plan import LoadPlan
    from crossfade.bench.runner import Interrupt
    from crossfade.bench.slo import Slo
    from crossfade.bench.sweep_index import LoadMode, SweepIndex
    from crossfade.bench.targets import TargetSpec
    from crossfade.bench.workload import Workload


def configure(parser: argparse.ArgumentParser) -> None:
    from crossfade.cli.bench_inputs import (
        HelpWithDefaults,
        add_load_options,
        add_progress_option,
        add_slo_option,
        add_workload_options,
    )

    parser.formatter_class = HelpWithDefaults
    parser.epilog = (  # as written: HelpWithDefaults keeps line breaks
        "Ctrl-C (SIGINT) or SIGTERM stops the run in progress and the sweep after it;\n"
        "every run finished so far is saved and indexed, and compare exits 130 or 143.\n"
        "Exit codes: 0 every run complete and every target answered; 1 the sweep stopped\n"
        "early; 3 a target failed at a level (no request succeeded there, or more than half\n"
        "failed: no verdict is drawn from it; see comparison.json's failures)."
    )

    parser.add_argument(
        "targets", nargs="*", metavar="TARGET", help="two or more target URLs, as for bench"
    )
    parser.add_argument(
        "--name", action="append", help="label of a target; give it once per target, in order"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="a new sweep folder: sweep.json, comparison.json, runs/",
    )
    parser.add_argument(
        "--from", dest="from_dir", metavar="DIR", help="analyse a saved sweep again; run nothing"
    )
    parser.add_argument("--confidence", type=float, help="of the intervals, e.g. 0.95")
    parser.add_argument(
        "--margin",
        type=float,
        metavar="PERCENT",
        # The defaults stated here are compare.defaults' (kept off the --help import path;
        # tests/cli/test_compare_cli.py holds them equal).
        help="practical equivalence: differences within ±PERCENT do not matter (default 5: "
        "'equivalent' inside it, a winner only beyond it)",
    )
    add_workload_options(parser)
    load = parser.add_argument_group(
        "load (one of --concurrency or --rates)",
        "--requests counts each run's measured requests; at a concurrency level it is\n"
        "raised to at least 4 per slot",
    )
    load.add_argument("--concurrency", metavar="LEVELS", help="closed loop, e.g. 1,2,4,8")
    load.add_argument("--rates", metavar="LEVELS", help="open loop, requests/s, e.g. 1,2.5,5")
    load.add_argument(
        "--repeat",
        type=int,
        help="runs per target and level (default 3; verdicts need 2 or more); the order rotates",
    )
    add_load_options(load)
    add_slo_option(parser)
    add_progress_option(parser)
    parser.add_argument("--no-server-metrics", action="store_true", help="do not scrape")
    parser.set_defaults(run=run)


@dataclass
class _Sweep:
    targets: list[TargetSpec]
    mode: LoadMode
    levels: list[float]
    base: LoadPlan
    workload: Workload
    slos: list[Slo]
    folder: Path


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from crossfade.bench.calibration import load_calibration
    from crossfade.bench.console import SweepConsole
    from crossfade.bench.sweep import run_sweep
    from crossfade.bench.sweep_index import load_sweep
    from crossfade.bench.targets import length_notice
    from crossfade.cli.bench_inputs import progress_interval
    from crossfade.cli.stopping import EXIT_TARGET_FAILED, run_until_stopped, signal_exit_code
    from crossfade.errors import CrossfadeError, UsageError

    if args.confidence is not None and not 0 < args.confidence < 1:
        raise UsageError(
            f"--confidence {args.confidence:g}: give a share between 0 and 1, e.g. 0.95"
        )
    from crossfade.compare.defaults import DEFAULT_REPEATS

    args.repeat = DEFAULT_REPEATS if args.repeat is None else args.repeat
    if args.margin is not None and not 0 <= args.margin < 100:
        raise UsageError(f"--margin {args.margin:g}: give a percentage from 0 to under 100, e.g. 5")
    margin = None if args.margin is None else args.margin / 100
    if args.from_dir is not None:
        if args.targets or args.concurrency or args.rates:
            raise UsageError("--from DIR analyses a saved sweep: give no targets or levels with it")
        folder = Path(args.from_dir)
        failed = _analyse(folder, load_sweep(folder), args.confidence, margin)
        return EXIT_TARGET_FAILED if failed else 0
    sweep = _prepare(args)
    interval = progress_interval(args)
    console = Console(stderr=True)
    for target in sweep.targets:
        if (notice := length_notice(target)) is not None:
            console.print(f"note: {notice}", highlight=False, markup=False)

    async def main(interrupt: Interrupt) -> SweepIndex:
        total = len(sweep.targets) * len(sweep.levels) * args.repeat
        with SweepConsole(console, total, args.repeat, interval) as progress:
            return await run_sweep(
                sweep.targets, sweep.workload, sweep.base, sweep.mode, sweep.levels, args.repeat,
                sweep.folder, on_progress=progress, interrupt=interrupt,
                scrape_metrics=not args.no_server_metrics, slos=sweep.slos,
                workers=args.workers, client_overhead=load_calibration(),
            )  # fmt: skip

    index, interrupt = run_until_stopped(main)
    by_signal = signal_exit_code(interrupt)
    if not index.runs:
        print(
            f"saved {sweep.folder}/sweep.json; nothing was measured; stopped: {index.stop_reason}"
        )
        return by_signal or 1
    try:
        failed = _analyse(sweep.folder, index, args.confidence, margin)
    except CrossfadeError as exc:
        print(f"comparison not written: {exc}")
        return by_signal or 1
    if by_signal is not None:
        return by_signal
    if failed:
        return EXIT_TARGET_FAILED
    return 0 if index.stop_reason == "completed" else 1


def _prepare(args: argparse.Namespace) -> _Sweep:
    """Everything the sweep needs, checked before anything runs (bad input -> UsageError)."""
    from crossfade.bench.slo import parse_slos
    from crossfade.bench.sweep import check_unique_names, level_plan, parse_levels
    from crossfade.bench.sweep_index import SWEEP_FILE
    from crossfade.bench.targets import parse_target
    from crossfade.cli.bench_inputs import build_workload, plan_from_args
    from crossfade.cli.output import output_folder, refuse_existing
    from crossfade.errors import UsageError

    if len(args.targets) < 2:
        raise UsageError(
            f"compare needs two or more targets, got {len(args.targets)}; "
            "to measure one target, use `crossfade bench`"
        )
    if (args.concurrency is None) == (args.rates is None):
        raise UsageError("give exactly one of --concurrency LEVELS or --rates LEVELS, e.g. 1,2,4")
    if args.output is None:
        raise UsageError("give -o DIR, a new folder for the sweep (or --from DIR to re-analyse)")
    folder = output_folder("-o", args.output)
    refuse_existing(folder, (SWEEP_FILE,), "a sweep", f"or re-analyse it with --from {folder}")
    if args.repeat < 1:
        raise UsageError(f"--repeat {args.repeat}: give 1 or more")
    names = args.name or []
    if names and len(names) != len(args.targets):
        raise UsageError(
            f"{len(names)} --name for {len(args.targets)} targets; give --name once per target, "
            "in the order of the targets, or not at all"
        )
    labels: list[str | None] = list(names) or [None] * len(args.targets)
    targets = [parse_target(url, name) for url, name in zip(args.targets, labels, strict=True)]
    check_unique_names([t.name for t in targets])
    mode: LoadMode = "concurrency" if args.concurrency is not None else "rate"
    flag, text = (
        ("--concurrency", args.concurrency) if mode == "concurrency" else ("--rates", args.rates)
    )
    try:
        levels = parse_levels(text, mode)
    except ValueError as exc:
        raise UsageError(f"{flag} {text}: {exc}; give levels like 1,2,4,8") from None
    level_args: dict[str, Any] = (
        {"concurrency": int(levels[0]), "rate": None}
        if mode == "concurrency"
        else {"concurrency": None, "rate": levels[0]}
    )
    base = plan_from_args(argparse.Namespace(**{**vars(args), **level_args}))
    try:
        slos = parse_slos(args.slo) if args.slo else []
    except ValueError as exc:
        raise UsageError(f"--slo: {exc}") from None
    # Enough prompts for the level that sends the most requests.
    plans = [level_plan(base, mode, level) for level in levels]
    workload = build_workload(args, max(plans, key=lambda p: p.requests or 0))
    if args.save_workload:
        workload.save(args.save_workload)
    return _Sweep(targets, mode, levels, base, workload, slos, folder)


def _analyse(
    folder: Path, index: SweepIndex, confidence: float | None, margin: float | None
) -> bool:
    """Analyse, save and print the comparison; True when a target failed at some level."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from crossfade.bench.console import EMULATED_MARK
    from crossfade.compare import analyse_sweep, save_comparison, verdict_lines
    from crossfade.compare.model import COMPARISON_FILE

    comparison = analyse_sweep(folder, confidence=confidence, margin=margin)
    save_comparison(folder, comparison)
    title = (
        f"{index.mode} sweep, {comparison.confidence:.0%} confidence, "
        f"equivalence margin ±{comparison.margin:.0%}"
    )
    if comparison.completeness != "complete":
        title += f" ({comparison.completeness}: sweep {index.stop_reason})"
    table = Table()
    table.add_column(title)
    for line in verdict_lines(comparison):
        table.add_row(Text(line))
    Console().print(table)
    for target in index.targets:
        if target.emulated:
            print(f"note: {target.name} is {EMULATED_MARK}")
    print(
        f"saved {folder / COMPARISON_FILE}; runs ({len(index.runs)}) in {folder / 'runs'}/, "
        f"indexed in sweep.json; sweep stopped: {index.stop_reason}"
    )
    return bool(comparison.failures)
