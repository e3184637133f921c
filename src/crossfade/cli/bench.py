"""`crossfade bench TARGET ...`: one benchmark run, saved to a result folder."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections.abc import Callable


def configure(parser: argparse.ArgumentParser) -> None:
    from crossfade.cli.bench_inputs import (
        add_load_options,
        add_shard_options,
        add_slo_option,
        add_workload_options,
    )

    parser.add_argument(
        "target",
        metavar="TARGET",
        help="triton-vllm://HOST:PORT/MODEL, triton-trtllm://HOST:PORT/ensemble, "
        "triton-grpc-vllm://..., triton-grpc-trtllm://..., openai://HOST:PORT/v1?model=NAME, "
        "openai-chat://...",
    )
    parser.add_argument("--name", help="label of the target in results and reports")
    parser.add_argument("-o", "--output", metavar="DIR", help="result folder (default: results/…)")
    add_workload_options(parser)
    load = parser.add_argument_group("load (one of --concurrency or --rate)")
    load.add_argument("--concurrency", type=int, help="closed loop: requests in flight")
    load.add_argument("--rate", type=float, help="open loop: requests per second")
    add_load_options(load)
    add_shard_options(parser)
    add_slo_option(parser)
    parser.add_argument("--metrics-url", help="server's Prometheus URL (default: from TARGET)")
    parser.add_argument("--no-server-metrics", action="store_true", help="do not scrape")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from rich.console import Console

    from crossfade.bench.calibration import load_calibration
    from crossfade.bench.console import LiveProgress, summary_table
    from crossfade.bench.plan import LoadPlan
    from crossfade.bench.session import BenchConfig, run_bench, shard_share
    from crossfade.bench.slo import parse_slos
    from crossfade.bench.targets import parse_target
    from crossfade.cli.bench_inputs import (
        build_workload,
        default_output,
        plan_from_args,
        shard_from_args,
    )
    from crossfade.errors import UsageError

    target = parse_target(args.target, args.name)
    plan: LoadPlan = plan_from_args(args)
    shard = shard_from_args(args, os.environ)
    try:
        slos = parse_slos(args.slo) if args.slo else []
    except ValueError as exc:
        raise UsageError(f"--slo: {exc}") from None
    workload = build_workload(args, plan)
    if args.save_workload:
        workload.save(args.save_workload)
    share = shard_share(workload.requests, plan, shard) if shard is not None else None
    output = Path(args.output) if args.output else default_output(target.name, plan, shard)
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
    console = Console(stderr=True)
    total = share.plan.requests if share is not None else plan.requests
    if shard is not None and shard.start_at_unix is not None:
        wait_s = shard.start_at_unix - time.time()
        when = time.strftime("%H:%M:%S", time.localtime(shard.start_at_unix))
        late = f"in {wait_s:.1f} s" if wait_s >= 0 else f"{-wait_s:.1f} s ago: starting now"
        console.print(f"shard {shard.index}/{shard.count}: --start-at {when} ({late})")

    async def main() -> int:
        interrupt = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, _first_interrupt(loop, interrupt))
        with LiveProgress(console, target.name, total) as progress:
            result = await run_bench(config, workload, progress.on_record, interrupt)
        Console().print(summary_table(result.model_dump()))
        print(
            f"saved {output}/ (result.json, requests.jsonl); stopped: {result.run['stop_reason']}"
        )
        return 0 if result.run["stop_reason"] in ("completed", "duration") else 1

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(main())


def _first_interrupt(
    loop: asyncio.AbstractEventLoop, interrupt: asyncio.Event
) -> Callable[[], None]:
    def handle() -> None:
        # The first Ctrl-C stops the run gracefully (results are saved); a second one is default.
        interrupt.set()
        loop.remove_signal_handler(signal.SIGINT)

    return handle


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a core dependency on Linux
        return None
    return uvloop.new_event_loop
