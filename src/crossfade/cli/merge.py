"""`crossfade merge RESULT... -o DIR`: the shards of one run (one per pod) as one result."""

from __future__ import annotations

import argparse

DESCRIPTION = (
    "Merge the results of `crossfade bench --shard I/N` (one per pod) into one result, every "
    "percentile computed from all the pods' raw records. Shards that did not run together "
    "(their starts more than 5% of the run and more than 0.1 s apart) are refused, not merged "
    "with per-shard windows: their load was never the plan's. Exit 0: merged; 1: merged "
    "without the missing shards (--allow-missing; the result's notes name them); 2: refused."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.add_argument(
        "results",
        metavar="RESULT",
        nargs="+",
        help="result folders of `crossfade bench --shard I/N`, one per shard",
    )
    parser.add_argument(
        "-o", "--output", metavar="DIR", required=True, help="merged result folder (a new one)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing result folder"
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="merge even when some shards are missing: the result's notes name them, and the "
        "exit code is 1",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from rich.console import Console

    from crossfade.bench.console import summary_table
    from crossfade.bench.merge import merge_results
    from crossfade.bench.results import RESULT_FILES
    from crossfade.cli.output import output_folder, refuse_existing

    output = output_folder("-o", args.output)
    if not args.overwrite:
        refuse_existing(output, RESULT_FILES, "a result", "or --overwrite to replace it")
    merged = merge_results([Path(r) for r in args.results], output, args.allow_missing)
    Console().print(summary_table(merged.result))
    for warning in merged.warnings:
        print(f"crossfade merge: warning: {warning}", file=sys.stderr)
    shards = merged.result.config.shards
    assert shards is not None  # a merge's result says which shards it merged
    print(
        f"saved {output}/ (result.json, requests.jsonl): shards {shards.merged} "
        f"of {shards.count}, {len(merged.records)} records"
    )
    if merged.missing:
        names = ", ".join(f"{i}/{shards.count}" for i in merged.missing)
        print(
            f"crossfade merge: shard {names} missing: merged without it (see the result's notes)",
            file=sys.stderr,
        )
        return 1
    return 0
