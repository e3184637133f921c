"""`crossfade init [PATH]`: write a commented example spec."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", nargs="?", default="crossfade.yaml", metavar="PATH", help="default: crossfade.yaml"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crossfade.errors import UsageError
    from crossfade.spec.example import EXAMPLE_SPEC

    path = Path(args.path)
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    path.write_text(EXAMPLE_SPEC, encoding="utf-8")
    print(f"wrote {path}; edit it, then: crossfade render triton {path} -o model_repos")
    return 0
