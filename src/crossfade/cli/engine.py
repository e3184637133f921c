"""`crossfade engine inspect|check|stamp`: TensorRT-LLM engine folders from the command line.

Only argparse (and the shared --fail-on option) is imported at the top: everything else,
crossfade.engine and pydantic included, loads when a subcommand runs, so `crossfade --help`
stays fast.
"""

from __future__ import annotations

import argparse

from crossfade.cli.fail_on import add_fail_on, exit_status

IMAGE_EXAMPLE = "tritonserver:25.12-trtllm-python-py3"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(run=lambda args: _print_help(parser))
    sub = parser.add_subparsers(dest="engine_command", metavar="SUBCOMMAND")

    inspect = sub.add_parser(
        "inspect", help="summarise an engine folder", description="Summarise an engine folder."
    )
    inspect.add_argument("engine_dir", metavar="DIR", help="folder trtllm-build wrote")
    _add_format(inspect)
    inspect.set_defaults(run=run_inspect)

    check = sub.add_parser(
        "check",
        help="check an engine against the image and GPU that will serve it",
        description="Check an engine folder for problems that stop Triton loading it. "
        "Exit 0 when clean, 1 on findings (with --fail-on error, on errors only), 2 on a "
        "usage error: the same as `crossfade lint` of that folder.",
    )
    check.add_argument("engine_dir", metavar="DIR", help="folder trtllm-build wrote")
    check.add_argument("--image", metavar="TAG", help=f"serving image, e.g. {IMAGE_EXAMPLE}")
    check.add_argument("--gpu", metavar="NAME", help="serving GPU, e.g. H100 or 9.0")
    _add_format(check)
    add_fail_on(check)
    check.set_defaults(run=run_check)

    stamp = sub.add_parser(
        "stamp",
        help="record the build GPU and versions next to an engine",
        description="Write crossfade-build.json next to an engine; run it in the build container.",
    )
    stamp.add_argument("engine_dir", metavar="DIR", help="folder trtllm-build wrote")
    stamp.add_argument("--gpu", metavar="NAME", help="build GPU (default: ask nvidia-smi)")
    stamp.add_argument("--image", metavar="TAG", help=f"build image, e.g. {IMAGE_EXAMPLE}")
    stamp.add_argument(
        "--trtllm-version",
        metavar="V",
        help="TensorRT-LLM version, when config.json has none (default: the installed one)",
    )
    stamp.add_argument(
        "--build-date", metavar="ISO", help="build time, ISO-8601; UTC if no zone (default: now)"
    )
    stamp.set_defaults(run=run_stamp)


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")


def _print_help(parser: argparse.ArgumentParser) -> int:
    import sys

    parser.print_help(sys.stderr)
    return 2


def run_inspect(args: argparse.Namespace) -> int:
    import json

    from crossfade.engine.inspect import format_rows, inspect_engine, summary_dict, summary_rows

    summary = inspect_engine(args.engine_dir)
    if args.format == "json":
        print(json.dumps(summary_dict(summary), indent=2))
    else:
        print(format_rows(summary_rows(summary)))
    return 0


def run_check(args: argparse.Namespace) -> int:
    import json

    from crossfade.engine.check import check_engine
    from crossfade.findings import Severity

    findings = check_engine(args.engine_dir, image_tag=args.image, gpu=args.gpu)
    errors = sum(1 for finding in findings if finding.severity is Severity.ERROR)
    warnings = len(findings) - errors
    if args.format == "json":
        report = {
            "engine_dir": args.engine_dir,
            "errors": errors,
            "warnings": warnings,
            "findings": [finding.to_json() for finding in findings],
        }
        print(json.dumps(report, indent=2))
    else:
        for finding in findings:
            severity, code = finding.severity.value, finding.code
            print(f"{finding.location()}: {severity} {code}: {finding.message}")
            if finding.hint:
                print(f"    hint: {finding.hint}")
        verdict = f"{errors} error(s), {warnings} warning(s)" if findings else "no problems found"
        print(f"{args.engine_dir}: {verdict}")
    return exit_status(findings, args.fail_on)


def run_stamp(args: argparse.Namespace) -> int:
    from crossfade.engine.stamp import stamp_engine

    path, stamp = stamp_engine(
        args.engine_dir,
        gpu=args.gpu,
        image_tag=args.image,
        trtllm_version=args.trtllm_version,
        build_date=args.build_date,
    )
    print(
        f"wrote {path}: TensorRT-LLM {stamp['tensorrt_llm_version']}, "
        f"{stamp['gpu']} (SM {stamp['compute_capability']}), built {stamp['build_date']}"
    )
    return 0
