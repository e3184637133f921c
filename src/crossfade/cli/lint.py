"""`crossfade lint PATH...`: model repositories and engine folders."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="model repository, model folder or engine folder"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--image", metavar="TAG", help="Triton container tag the engines will be served by"
    )
    parser.add_argument("--gpu", metavar="NAME", help="GPU the engines will be served on")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from crossfade.lint.runner import lint_paths

    findings = lint_paths(args.paths, image=args.image, gpu=args.gpu)
    if args.format == "json":
        print(json.dumps([f.to_json() for f in findings], indent=2))
    else:
        for finding in findings:
            print(f"{finding.location()}: {finding.severity} {finding.code}: {finding.message}")
            if finding.hint:
                print(f"    fix: {finding.hint}")
        errors = sum(1 for f in findings if f.severity == "error")
        print(f"{len(findings)} finding(s): {errors} error(s), {len(findings) - errors} warning(s)")
    return 1 if findings else 0
