"""Turning `crossfade bench` arguments into a load plan and a workload (bad input -> UsageError).

The workload and load options are declared here once, for `bench` and `compare` alike. Heavy
imports stay inside the functions: commands declare their options while `crossfade --help` runs.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from crossfade.errors import UsageError

if TYPE_CHECKING:
    from crossfade.bench.execution import Shard
    from crossfade.bench.plan import LoadPlan
    from crossfade.bench.workload import Workload

SHARD_INDEX_ENV = "JOB_COMPLETION_INDEX"  # set by Kubernetes in each pod of an Indexed Job
MAX_START_AHEAD_S = 24 * 3600  # a --start-at further ahead is a mistake (milliseconds?)
DEFAULT_LENGTH = "128"  # --input-len and --output-len of synthetic prompts
PROGRESS_INTERVAL_S = 10.0  # a progress line this often when stderr is not a terminal

# LoadPlan field -> (the flag that sets it, its argparse dest): errors name what was typed.
PLAN_FLAGS = {
    "concurrency": ("--concurrency", "concurrency"),
    "rate": ("--rate", "rate"),
    "arrivals": ("--arrivals", "arrivals"),
    "max_concurrency": ("--max-concurrency", "max_concurrency"),
    "requests": ("--requests", "requests"),
    "duration_s": ("--duration", "duration"),
    "warmup_requests": ("--warmup", "warmup"),
    "max_error_rate": ("--max-error-rate", "max_error_rate"),
    "request_timeout_s": ("--timeout", "timeout"),
    "seed": ("--seed", "seed"),
}


class HelpWithDefaults(argparse.RawDescriptionHelpFormatter):
    """Adds "(default: X)" to each option that has a default and does not state it already;
    keeps the line breaks of the description and epilog (the exit-code table)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        # Identity, not equality: a default of 0 is worth showing (0 == False).
        unstated = not any(action.default is v for v in (None, False, argparse.SUPPRESS))
        if unstated and action.option_strings and "default" not in text:
            text += " (default: %(default)s)"
        return text


def add_workload_options(parser: argparse.ArgumentParser) -> None:
    work = parser.add_argument_group("workload (one of: synthetic, --dataset, --workload)")
    work.add_argument(
        "--tokenizer", metavar="DIR", help="tokenizer folder (`lab`: the running lab's model)"
    )
    work.add_argument(
        "--input-len",
        help=f"synthetic prompts: N, uniform:A-B, normal:M,S, lognormal:M,S "
        f"(default: {DEFAULT_LENGTH})",
    )
    work.add_argument(
        "--output-len",
        help="same forms as --input-len (default: "
        f"{DEFAULT_LENGTH}); with a prompts .jsonl, for the lines without output_tokens",
    )
    work.add_argument(
        "--num-prompts", type=int, help="distinct prompts (default: --requests, at most 10000)"
    )
    work.add_argument("--dataset", metavar="FILE", help="ShareGPT .json or prompts .jsonl")
    work.add_argument("--workload", metavar="FILE", help="a workload saved with --save-workload")
    work.add_argument("--save-workload", metavar="FILE", help="save the workload for replay")
    work.add_argument("--no-stream", action="store_true", help="non-streaming requests")


def add_load_options(load: argparse._ArgumentGroup) -> None:
    """Everything about a run's load but its level (--concurrency or --rate)."""
    load.add_argument(
        "--arrivals",
        help="open loop's send times: constant, poisson or gamma:SHAPE (default: poisson)",
    )
    load.add_argument("--max-concurrency", type=int, help="cap in-flight requests at --rate")
    load.add_argument("--requests", type=int, help="measured requests to send")
    load.add_argument("--duration", type=float, help="seconds; stop sending after this")
    load.add_argument("--warmup", type=int, default=0, help="requests sent before measuring")
    load.add_argument("--max-error-rate", type=float, help="stop when failures exceed this share")
    load.add_argument("--timeout", type=float, default=600.0, help="per-request deadline, s")
    load.add_argument(
        "--seed", type=int, default=0, help="of every draw: prompts, lengths, arrival times"
    )
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
    from crossfade.bench.execution import Shard

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
    if args.start_at is not None and not math.isfinite(args.start_at):
        raise UsageError(f"--start-at {args.start_at}: give Unix seconds (date +%s)")
    if args.start_at is not None and args.start_at - time.time() > MAX_START_AHEAD_S:
        raise UsageError(
            f"--start-at {args.start_at:.0f}: more than a day from now; give Unix seconds "
            "(date +%s), not milliseconds"
        )
    return Shard(index, count, args.start_at)


def add_slo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--slo", help="e.g. ttft:p99<500ms,itl:p95<50ms (for goodput)")


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress-interval",
        type=float,
        default=PROGRESS_INTERVAL_S,
        metavar="SECONDS",
        help="when stderr is not a terminal (CI, pod logs): a progress line this often",
    )


def progress_interval(args: argparse.Namespace) -> float:
    value: float = args.progress_interval
    if not (value > 0 and value != float("inf")):
        raise UsageError(f"--progress-interval {value:g}: give seconds above 0, e.g. 10")
    return value


def _check_counts(args: argparse.Namespace) -> None:
    """What the plan cannot see as typed (it counts warm-up in --requests) or never holds."""
    counts = (
        ("--requests", args.requests, 1),
        ("--warmup", args.warmup, 0),
        ("--workers", args.workers, 1),
        ("--num-prompts", args.num_prompts, 1),
    )
    for flag, value, least in counts:
        if value is not None and value < least:
            raise UsageError(f"{flag} {value}: give {least} or more")
    if args.arrivals is not None and args.concurrency is not None:
        raise UsageError(
            f"--arrivals {args.arrivals}: arrivals shape an open loop's send times; a closed "
            "loop (--concurrency) sends when a request ends: drop --arrivals, or give a rate"
        )


def plan_from_args(args: argparse.Namespace) -> LoadPlan:
    from pydantic import ValidationError

    from crossfade.bench.plan import LoadPlan

    _check_counts(args)
    try:
        return LoadPlan(
            concurrency=args.concurrency,
            rate=args.rate,
            arrivals=args.arrivals or "poisson",
            max_concurrency=args.max_concurrency,
            # --requests counts measured requests; the plan counts every request sent.
            requests=args.requests + args.warmup if args.requests is not None else None,
            duration_s=args.duration,
            warmup_requests=args.warmup,
            max_error_rate=args.max_error_rate,
            request_timeout_s=args.timeout,
            seed=args.seed,
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        text = problem["msg"].removeprefix("Value error, ")
        field = str(problem["loc"][0]) if problem["loc"] else ""
        if field not in PLAN_FLAGS:  # a rule about several flags: its message names them
            raise UsageError(text) from None
        flag, dest = PLAN_FLAGS[field]
        value = getattr(args, dest)
        shown = f"{value:g}" if isinstance(value, float) else value
        raise UsageError(f"{flag} {shown}: {text[:1].lower()}{text[1:]}") from None


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
        parse_length,
        sharegpt_workload,
        synthetic_workload,
    )

    stream = not args.no_stream
    for flag, text in (("--input-len", args.input_len), ("--output-len", args.output_len)):
        try:
            if text is not None:
                parse_length(text)
        except ValueError as exc:
            raise UsageError(f"{flag}: {exc}") from None
    try:
        if args.workload:
            return Workload.load(args.workload)
        folder = tokenizer_folder(args.tokenizer)
        if args.dataset:
            if args.dataset.endswith(".jsonl"):
                return jsonl_workload(
                    args.dataset,
                    folder,
                    args.num_prompts,
                    output_len=args.output_len,
                    seed=args.seed,
                    stream=stream,
                )
            return sharegpt_workload(
                args.dataset, folder, args.num_prompts, seed=args.seed, stream=stream
            )
        count = args.num_prompts or min(plan.requests or 1000, 10_000)
        input_len, output_len = args.input_len or DEFAULT_LENGTH, args.output_len or DEFAULT_LENGTH
        return synthetic_workload(
            folder, count, input_len, output_len, seed=args.seed, stream=stream
        )
    except (WorkloadError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def default_output(name: str, plan: LoadPlan, shard: Shard | None = None) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # The pods of one run start in the same second: each shard needs its own folder.
    part = f"-shard{shard.index}of{shard.count}" if shard is not None else ""
    return Path("results") / f"{stamp}-{safe}-{plan.describe().replace('/', '_')}{part}"
