"""`crossfade bench TARGET ...`: one benchmark run, saved to a result folder."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="triton-vllm://HOST:PORT/MODEL, triton-trtllm://HOST:PORT/ensemble, "
        "triton-grpc-vllm://..., triton-grpc-trtllm://..., openai://HOST:PORT/v1?model=NAME, "
        "openai-chat://...",
    )
    parser.add_argument("--name", help="label of the target in results and reports")
    parser.add_argument("-o", "--output", metavar="DIR", help="result folder (default: results/…)")
    work = parser.add_argument_group("workload (one of: synthetic, --dataset, --workload)")
    work.add_argument(
        "--tokenizer", metavar="DIR", help="tokenizer folder (`lab`: the running lab's model)"
    )
    work.add_argument(
        "--input-len", default="128", help="N, uniform:A-B, normal:M,S, lognormal:M,S"
    )
    work.add_argument("--output-len", default="128", help="same forms as --input-len")
    work.add_argument("--num-prompts", type=int, help="distinct prompts (default: --requests)")
    work.add_argument("--dataset", metavar="FILE", help="ShareGPT .json or prompts .jsonl")
    work.add_argument("--workload", metavar="FILE", help="a workload saved with --save-workload")
    work.add_argument("--save-workload", metavar="FILE", help="save the workload for replay")
    work.add_argument("--no-stream", action="store_true", help="non-streaming requests")
    load = parser.add_argument_group("load (one of --concurrency or --rate)")
    load.add_argument("--concurrency", type=int, help="closed loop: requests in flight")
    load.add_argument("--rate", type=float, help="open loop: requests per second")
    load.add_argument("--arrivals", default="poisson", help="constant, poisson or gamma:SHAPE")
    load.add_argument("--max-concurrency", type=int, help="cap in-flight requests at --rate")
    load.add_argument("--requests", type=int, help="measured requests to send")
    load.add_argument("--duration", type=float, help="seconds; stop sending after this")
    load.add_argument("--warmup", type=int, default=0, help="requests sent before measuring")
    load.add_argument("--max-error-rate", type=float, help="stop when failures exceed this share")
    load.add_argument("--timeout", type=float, default=600.0, help="per-request deadline, s")
    load.add_argument("--seed", type=int, default=0)
    load.add_argument(
        "--workers", type=int, default=1, help="processes sending load (beyond one core)"
    )
    parser.add_argument("--slo", help="e.g. ttft:p99<500ms,itl:p95<50ms (for goodput)")
    parser.add_argument("--metrics-url", help="server's Prometheus URL (default: from TARGET)")
    parser.add_argument("--no-server-metrics", action="store_true", help="do not scrape")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console

    from crossfade.bench.calibration import load_calibration
    from crossfade.bench.console import LiveProgress, summary_table
    from crossfade.bench.plan import LoadPlan
    from crossfade.bench.session import BenchConfig, run_bench
    from crossfade.bench.slo import parse_slos
    from crossfade.bench.targets import parse_target
    from crossfade.cli.bench_inputs import build_workload, default_output, plan_from_args
    from crossfade.errors import UsageError

    target = parse_target(args.target, args.name)
    plan: LoadPlan = plan_from_args(args)
    try:
        slos = parse_slos(args.slo) if args.slo else []
    except ValueError as exc:
        raise UsageError(f"--slo: {exc}") from None
    workload = build_workload(args, plan)
    if args.save_workload:
        workload.save(args.save_workload)
    output = Path(args.output) if args.output else default_output(target.name, plan)
    config = BenchConfig(
        target,
        plan,
        output,
        slos,
        metrics_url=args.metrics_url,
        scrape_metrics=not args.no_server_metrics,
        workers=args.workers,
        client_overhead=load_calibration(),
    )
    console = Console(stderr=True)
    total = plan.requests

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
