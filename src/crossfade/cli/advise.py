"""`crossfade advise SPEC [RESULTS...] [--projection PATH]`: vLLM or TensorRT-LLM, with every
reason and its source."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Recommend vLLM or TensorRT-LLM (its LLM API model) from the facts in the spec's "
        "deployment: section and, when given, measured comparisons (folders written by crossfade "
        "compare). A spec whose tensorrtllm: section has the engine layout, or that states "
        "tensorrtllm_runs_engines: true, gets the migration off the engines. Prints every reason "
        "with its source, the seed article's matrix rows against today's TensorRT-LLM, what "
        "would change the answer, the next steps and the decision flow as a Mermaid diagram."
    )
    parser.add_argument("spec", metavar="SPEC", help="spec file (crossfade.yaml)")
    parser.add_argument(
        "results",
        metavar="RESULTS",
        nargs="*",
        help="folders with a comparison.json (or the files themselves)",
    )
    parser.add_argument(
        "--projection",
        metavar="PATH",
        help="a projection.json written by crossfade project (or its folder): evidence between "
        "the rules and a measurement, which may confirm or overrule a rule of thumb; a "
        "measurement of real backends that counts overrules it",
    )
    parser.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="default: text"
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write here instead of stdout (folders are made)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crossfade.advise.advice import build_advice
    from crossfade.advise.render import render_json, render_markdown, render_text
    from crossfade.cli.output import check_output_file, write_output_file
    from crossfade.compare.model import load_comparison
    from crossfade.spec.load import load_spec

    if args.output is not None:
        check_output_file("-o", Path(args.output))  # before the work
    spec = load_spec(args.spec)
    comparisons = [(folder, load_comparison(Path(folder))) for folder in args.results]
    projection = None
    if args.projection is not None:
        from crossfade.project.model import ProjectionError, load_projection

        try:
            projection = (args.projection, load_projection(Path(args.projection)))
        except ProjectionError as error:
            raise ProjectionError(f"--projection: {error}") from None
    advice = build_advice(spec, args.spec, comparisons, projection)
    renderers = {"text": render_text, "markdown": render_markdown, "json": render_json}
    text = renderers[args.format](advice)
    if args.output is None:
        print(text, end="")
        return 0
    write_output_file("-o", Path(args.output), text)
    print(f"wrote {args.output}: {advice.recommendation}")
    return 0
