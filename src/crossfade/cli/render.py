"""`crossfade render triton SPEC -o DIR [--check]`."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    triton = sub.add_parser(
        "triton",
        help="Triton model repositories for both backends",
        description="Render one Triton model repository per backend in the spec: "
        "DIR/tensorrtllm (ensemble, preprocessing, tensorrt_llm, postprocessing, "
        "tensorrt_llm_bls) and DIR/vllm (model.json and config.pbtxt).",
    )
    triton.add_argument("spec", metavar="SPEC", help="spec file (crossfade.yaml)")
    triton.add_argument("-o", "--output", metavar="DIR", required=True, help="output folder")
    triton.add_argument(
        "--check",
        action="store_true",
        help="write nothing; report differences against DIR and exit 1 if there are any",
    )
    triton.set_defaults(run=run_triton)


def run_triton(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crossfade.render.triton import render_triton
    from crossfade.spec.load import load_spec

    tree = render_triton(load_spec(args.spec))
    root = Path(args.output)
    if args.check:
        differences = tree.diff(root)
        for difference in differences:
            print(difference, end="")
        if differences:
            print(f"{root}: {len(differences)} difference(s) from {args.spec}")
            return 1
        print(f"{root}: up to date with {args.spec}")
        return 0
    written = tree.write(root)
    print(f"wrote {len(written)} files under {root}/")
    return 0
