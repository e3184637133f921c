"""`crossfade show RESULT`: the summary of a saved run."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("result", metavar="RESULT", help="a result folder written by bench")
    parser.add_argument(
        "--json", action="store_true", help="print the result as JSON (an older schema's upgraded)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console

    from crossfade.bench.console import summary_table
    from crossfade.bench.results import load_result

    # Validated as every reader validates it (report included): a field that is missing,
    # mistyped or unknown is an error naming the file and the field.
    result = load_result(Path(args.result))
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        Console().print(summary_table(result))
    return 0
