"""Turning `crossfade bench` arguments into a load plan and a workload (bad input -> UsageError)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pydantic import ValidationError

from crossfade.bench.plan import LoadPlan
from crossfade.bench.workload import (
    Workload,
    WorkloadError,
    jsonl_workload,
    sharegpt_workload,
    synthetic_workload,
)
from crossfade.errors import UsageError


def plan_from_args(args: argparse.Namespace) -> LoadPlan:
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


def default_output(name: str, plan: LoadPlan) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"{stamp}-{safe}-{plan.describe().replace('/', '_')}"
