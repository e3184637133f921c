"""The `crossfade` command line: a thin layer that parses arguments and calls one function.

Command modules are imported only when their command runs, so `crossfade --help` and light
commands stay fast and never pull in heavy optional dependencies.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from crossfade import __version__

# command name -> (module under crossfade.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "the lab, a comparison of its three targets, a report and advice"),
    "init": ("init", "write a commented example spec"),
    "render": ("render", "render Triton repositories, Kubernetes manifests or a bench Job"),
    "lint": ("lint", "check model repositories, engine folders and Kubernetes manifests"),
    "engine": ("engine", "inspect, check and stamp TensorRT-LLM engine folders"),
    "lab": ("lab", "a real Triton and a real vLLM on this machine (tiny model, CPU)"),
    "bench": ("bench", "benchmark one target under streaming load; save the result"),
    "show": ("show", "print the summary of a saved benchmark result"),
    "merge": ("merge", "merge the results of one run's shards (one per pod) into one result"),
    "compare": ("compare", "run the same workload on several targets across load levels; compare"),
    "report": ("report", "render saved results as one offline HTML file (charts) or markdown"),
    "project": (
        "project",
        "project TensorRT-LLM and vLLM on the spec's GPUs without them (AIConfigurator)",
    ),
    "advise": ("advise", "recommend vLLM or TensorRT-LLM from stated facts and measurements"),
    "route": ("route", "route requests over several backends: weights, fallback, health, shadow"),
    "canary": ("canary", "shift traffic to a candidate backend in steps; roll back on a bad gate"),
    "calibrate": (
        "calibrate",
        "measure the benchmark client's own overhead against a ground-truth server",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossfade",
        description="Render, lint, benchmark and migrate LLM serving on Triton Inference Server "
        "across the TensorRT-LLM and vLLM backends.",
    )
    parser.add_argument("--version", action="version", version=f"crossfade {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"crossfade.cli.{module_name}")
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from crossfade.errors import CrossfadeError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        code: int = args.run(args)
    except CrossfadeError as exc:
        print(f"crossfade {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"crossfade {args.command}: interrupted", file=sys.stderr)
        return 130
    return code
