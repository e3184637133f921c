"""`crossfade bench TARGET ...`: one benchmark run, saved to a result folder."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossfade.bench.runner import Interrupt
    from crossfade.bench.summary import Summary

EXIT_CODES = """\
exit codes (the result folder is saved in every case but 2):
  0    the run completed (or --duration ended it) and no measured request failed
  1    some measured requests failed, or the run stopped early (--max-error-rate)
  2    usage error: nothing was run
  3    the target failed: no request succeeded, or more than half of them failed;
       the run says nothing about the target (the first errors are printed)
  130  stopped by Ctrl-C (SIGINT), 143 stopped by SIGTERM (a Job deleted, past its
       deadline or evicted): after saving every request that finished

When stderr is not a terminal (CI, pod logs), a progress line goes there every
--progress-interval seconds."""


def configure(parser: argparse.ArgumentParser) -> None:
    from crossfade.cli.bench_inputs import (
        HelpWithDefaults,
        add_load_options,
        add_progress_option,
        add_shard_options,
        add_slo_option,
        add_workload_options,
    )

    parser.formatter_class = HelpWithDefaults
    parser.epilog = EXIT_CODES
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="triton-vllm://HOST:PORT/MODEL, triton-trtllm://HOST:PORT/ensemble, "
        "triton-llmapi://HOST:PORT/tensorrt_llm, triton-grpc-vllm://..., "
        "triton-grpc-trtllm://..., triton-grpc-llmapi://..., openai://HOST:PORT/v1?model=NAME, "
        "openai-chat://...",
    )
    parser.add_argument("--name", help="label of the target in results and reports")
    parser.add_argument(
        "-o", "--output", metavar="DIR", help="a new result folder (default: results/…)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the result already in -o DIR"
    )
    add_workload_options(parser)
    load = parser.add_argument_group("load (one of --concurrency or --rate)")
    load.add_argument("--concurrency", type=int, help="closed loop: requests in flight")
    load.add_argument("--rate", type=float, help="open loop: requests per second")
    add_load_options(load)
    add_shard_options(parser)
    add_slo_option(parser)
    add_progress_option(parser)
    parser.add_argument("--metrics-url", help="server's Prometheus URL (default: from TARGET)")
    parser.add_argument("--no-server-metrics", action="store_true", help="do not scrape")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from rich.console import Console

    from crossfade.bench.calibration import load_calibration
    from crossfade.bench.console import LiveProgress, summary_table
    from crossfade.bench.plan import LoadPlan
    from crossfade.bench.results import RESULT_FILES, BenchResult
    from crossfade.bench.session import BenchConfig, run_bench
    from crossfade.bench.slo import parse_slos
    from crossfade.bench.targets import length_notice, parse_target
    from crossfade.cli.bench_inputs import (
        build_workload,
        default_output,
        plan_from_args,
        progress_interval,
        shard_from_args,
    )
    from crossfade.cli.output import output_folder, refuse_existing
    from crossfade.cli.stopping import run_until_stopped
    from crossfade.errors import UsageError

    target = parse_target(args.target, args.name)
    plan: LoadPlan = plan_from_args(args)
    shard = shard_from_args(args, os.environ)
    interval = progress_interval(args)
    try:
        slos = parse_slos(args.slo) if args.slo else []
    except ValueError as exc:
        raise UsageError(f"--slo: {exc}") from None
    output = (
        output_folder("-o", args.output)
        if args.output is not None
        else default_output(target.name, plan, shard)
    )
    if not args.overwrite:
        refuse_existing(output, RESULT_FILES, "a result", "or --overwrite to replace it")
    workload = build_workload(args, plan)
    if args.save_workload:
        workload.save(args.save_workload)
    config = BenchConfig(
        target,
        plan,
        output,
        slos,
        metrics_url=args.metrics_url,
        scrape_metrics=not args.no_server_metrics,
        workers=args.workers,
        shard=shard,
        client_overhead=load_calibration(),
    )
    execution = config.execution(workload)  # refuses a shard the run cannot make, now
    try:  # now, not after the run: a folder that cannot be written must not cost a run
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"-o {output}: cannot create it ({exc.strerror})") from None
    console = Console(stderr=True)
    total = execution.plan.requests
    if shard is not None and shard.start_at_unix is not None:
        wait_s = shard.start_at_unix - time.time()
        when = time.strftime("%H:%M:%S", time.localtime(shard.start_at_unix))
        late = f"in {wait_s:.1f} s" if wait_s >= 0 else f"{-wait_s:.1f} s ago: starting now"
        console.print(f"shard {shard.index}/{shard.count}: --start-at {when} ({late})")
    if (notice := length_notice(target)) is not None:
        console.print(f"note: {notice}", highlight=False, markup=False)

    async def main(interrupt: Interrupt) -> BenchResult:
        with LiveProgress(console, target.name, total, interval) as progress:
            return await run_bench(config, workload, progress.on_record, interrupt, execution)

    result, interrupt = run_until_stopped(main)
    Console().print(summary_table(result))
    stop_reason, summary = result.run.stop_reason, result.summary
    print(f"saved {output}/ (result.json, requests.jsonl); stopped: {stop_reason}", flush=True)
    code = exit_code(stop_reason, summary, interrupt)
    verdict = _verdict(stop_reason, summary, interrupt, code)
    if verdict:
        print(f"crossfade bench: {verdict} (exit {code})", file=sys.stderr)
    return code


def exit_code(stop_reason: str, summary: Summary, interrupt: Interrupt) -> int:
    """The rule in EXIT_CODES. A signal's code comes first: whoever sent it asked for the stop."""
    from crossfade.cli.stopping import EXIT_SOME_FAILED, EXIT_TARGET_FAILED, signal_exit_code

    by_signal = signal_exit_code(interrupt)
    if by_signal is not None:
        return by_signal
    if summary.target_failed:
        return EXIT_TARGET_FAILED
    if summary.failed or stop_reason not in ("completed", "duration"):
        return EXIT_SOME_FAILED
    return 0


def _verdict(stop_reason: str, summary: Summary, interrupt: Interrupt, code: int) -> str:
    """Why the exit code is not 0, in a sentence ("" when it is 0)."""
    from crossfade.cli.stopping import EXIT_SOME_FAILED, EXIT_TARGET_FAILED

    failed = f"{summary.failed} of {summary.requests} measured requests failed"
    if summary.errors:  # the most frequent kind, so a log shows it even without the table
        top = summary.errors[0]
        failed += f" (most: {top.count} {top.kind.value}: {top.messages[0]})"
    if interrupt.signal is not None:
        return f"stopped by {interrupt.signal.name}; every request that finished is saved"
    if code == EXIT_TARGET_FAILED:
        if not summary.requests:
            return "the target failed: no request was measured"
        return f"the target failed: {failed}"
    if code == EXIT_SOME_FAILED and stop_reason not in ("completed", "duration"):
        return f"the run stopped early ({stop_reason}); {failed}"
    if code == EXIT_SOME_FAILED:
        return failed
    return ""
