"""Turning `crossfade bench` arguments into a load plan and a workload (bad input -> UsageError).

The workload and load options are declared here once, for `bench` and `compare` alike. Heavy
imports stay inside the functions: commands declare their options while `crossfade --help` runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from crossfade.errors import UsageError

if TYPE_CHECKING:
    from crossfade.bench.plan import LoadPlan
    from crossfade.bench.session import Shard
    from crossfade.bench.workload import Workload

SHARD_INDEX_ENV = "JOB_COMPLETION_INDEX"  # set by Kubernetes in each pod of an Indexed Job
MAX_START_AHEAD_S = 24 * 3600  # a --start-at further ahead is a mistake (milliseconds?)


def add_workload_options(parser: argparse.ArgumentParser) -> None:
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


def add_load_options(load: argparse._ArgumentGroup) -> None:
    """Everything about a run's load but its level (--concurrency or --rate)."""
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


def add_shard_options(parser: argparse.ArgumentParser) -> None:
    pods = parser.add_argument_group("several pods (merge their results with `crossfade merge`)")
    pods.add_argument(
        "--shard",
        metavar="I/N",
        help="run share I (0 to N-1) of N, what worker I of --workers N would send; "
        f"auto/N reads I from ${SHARD_INDEX_ENV} (an Indexed Job's pod)",
    )
    pods.add_argument(
        "--start-at",
        type=float,
        metavar="UNIX_SECONDS",
        help="wall-clock time (date +%%s) at which every shard starts sending",
    )


def shard_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> Shard | None:
    from crossfade.bench.session import Shard

    if args.shard is None:
        if args.start_at is not None:
            raise UsageError("--start-at lines up the pods of a sharded run; use it with --shard")
        return None
    form = "give I/N (this pod's index, 0 to N-1, and the number of pods) or auto/N"
    index_text, slash, count_text = args.shard.partition("/")
    if index_text == "auto":
        index_text = environ.get(SHARD_INDEX_ENV, "")
        if not index_text:
            raise UsageError(
                f"--shard {args.shard}: {SHARD_INDEX_ENV} is not set (Kubernetes sets it in the "
                f"pods of an Indexed Job); elsewhere give the index: --shard I/{count_text}"
            )
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise UsageError(f"--shard {args.shard}: {form}") from None
    if not slash or count < 1 or not 0 <= index < count:
        raise UsageError(f"--shard {args.shard}: {form}")
    if args.workers != 1:
        raise UsageError(
            "--shard runs one process per pod; for more load use more pods, not --workers"
        )
    if args.start_at is not None and args.start_at - time.time() > MAX_START_AHEAD_S:
        raise UsageError(
            f"--start-at {args.start_at:.0f}: more than a day from now; give Unix seconds "
            "(date +%s), not milliseconds"
        )
    return Shard(index, count, args.start_at)


def add_slo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--slo", help="e.g. ttft:p99<500ms,itl:p95<50ms (for goodput)")


def plan_from_args(args: argparse.Namespace) -> LoadPlan:
    from pydantic import ValidationError

    from crossfade.bench.plan import LoadPlan

    try:
        return LoadPlan(
            concurrency=args.concurrency,
            rate=args.rate,
            arrivals=args.arrivals,
            max_concurrency=args.max_concurrency,
            # --requests counts measured requests; the plan counts every request sent.
            requests=args.requests + args.warmup if args.requests else None,
            duration_s=args.duration,
            warmup_requests=args.warmup,
            max_error_rate=args.max_error_rate,
            request_timeout_s=args.timeout,
            seed=args.seed,
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        text = problem["msg"].removeprefix("Value error, ")
        raise UsageError(f"{where}: {text}" if where else text) from None


def tokenizer_folder(value: str | None) -> str:
    if value is None:
        raise UsageError("synthetic prompts need --tokenizer DIR (the target model's tokenizer)")
    if value != "lab":
        if not Path(value).is_dir():
            raise UsageError(f"--tokenizer {value}: no such folder (the model's tokenizer files)")
        return value
    from crossfade.lab.control import status
    from crossfade.lab.settings import LabSettings, default_lab_dir

    lab = status(LabSettings(default_lab_dir()))
    if not lab.running or not lab.model_dir:
        raise UsageError("--tokenizer lab: no lab is running (crossfade lab up)")
    return lab.model_dir


def build_workload(args: argparse.Namespace, plan: LoadPlan) -> Workload:
    from crossfade.bench.workload import (
        Workload,
        WorkloadError,
        jsonl_workload,
        sharegpt_workload,
        synthetic_workload,
    )

    stream = not args.no_stream
    try:
        if args.workload:
            return Workload.load(args.workload)
        folder = tokenizer_folder(args.tokenizer)
        if args.dataset:
            if args.dataset.endswith(".jsonl"):
                return jsonl_workload(args.dataset, folder, args.num_prompts, stream=stream)
            return sharegpt_workload(
                args.dataset, folder, args.num_prompts, seed=args.seed, stream=stream
            )
        count = args.num_prompts or min(plan.requests or 1000, 10_000)
        return synthetic_workload(
            folder, count, args.input_len, args.output_len, seed=args.seed, stream=stream
        )
    except (WorkloadError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def default_output(name: str, plan: LoadPlan, shard: Shard | None = None) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # The pods of one run start in the same second: each shard needs its own folder.
    part = f"-shard{shard.index}of{shard.count}" if shard is not None else ""
    return Path("results") / f"{stamp}-{safe}-{plan.describe().replace('/', '_')}{part}"
