"""`crossfade show RESULT`: the summary of a saved run."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("result", metavar="RESULT", help="a result folder written by bench")
    parser.add_argument("--json", action="store_true", help="print result.json as is")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from rich.console import Console

    from crossfade.bench.console import summary_table
    from crossfade.bench.results import load_result

    result = load_result(Path(args.result))
    if args.json:
        print(json.dumps(result.model_dump(), indent=2))
    else:
        Console().print(summary_table(result.model_dump()))
    return 0
