"""`crossfade merge RESULT... -o DIR`: the shards of one run (one per pod) as one result."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results",
        metavar="RESULT",
        nargs="+",
        help="result folders of `crossfade bench --shard I/N`, one per shard",
    )
    parser.add_argument("-o", "--output", metavar="DIR", required=True, help="merged result folder")
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="merge even when some shards are missing (the result says which)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from rich.console import Console

    from crossfade.bench.console import summary_table
    from crossfade.bench.merge import merge_results

    output = Path(args.output)
    merged = merge_results([Path(r) for r in args.results], output, args.allow_missing)
    Console().print(summary_table(merged.result.model_dump()))
    for warning in merged.warnings:
        print(f"crossfade merge: warning: {warning}", file=sys.stderr)
    shards = merged.result.config["shards"]
    print(
        f"saved {output}/ (result.json, requests.jsonl): shards {shards['merged']} "
        f"of {shards['count']}, {len(merged.records)} records"
    )
    return 0
