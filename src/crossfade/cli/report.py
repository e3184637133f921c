"""`crossfade report RESULTS... [projection.json] -o FILE [--format html|markdown] [--title T]`."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results",
        metavar="RESULTS",
        nargs="+",
        help="sweep folders (sweep.json, and comparison.json once compared) or result folders "
        "written by `crossfade bench`; and at most one projection.json written by `crossfade "
        "project` (or its folder), drawn as projected curves in the same charts, with the ratio "
        "measured/projected per point beside a sweep of the same workload",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="file to write (folders are made)"
    )
    parser.add_argument(
        "--format",
        choices=("html", "markdown"),
        default="html",
        help="html: one self-contained page with charts that opens offline (default); "
        "markdown: the verdicts and tables, for a pull request",
    )
    parser.add_argument("--title", metavar="T", default="crossfade report", help="report title")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crossfade.cli.output import check_output_file, write_output_file
    from crossfade.report import load_report, render_html, render_markdown

    output = Path(args.output)
    check_output_file("-o", output)  # before the work
    data = load_report([Path(path) for path in args.results])
    render = render_html if args.format == "html" else render_markdown
    text = render(data, args.title)
    write_output_file("-o", output, text)
    charts = " with charts" if args.format == "html" else ""
    print(
        f"wrote {output} ({len(text.encode()) // 1024} KiB{charts}): {len(data.targets)} "
        f"targets, {len(data.points)} target-levels"
    )
    return 0
