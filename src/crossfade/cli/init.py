"""`crossfade init [PATH]`: write a commented example spec, or with `--from-repository REPO` a
spec for the LLM API model read from a repository of the legacy engine layout."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", nargs="?", default="crossfade.yaml", metavar="PATH", help="default: crossfade.yaml"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.add_argument(
        "--from-repository",
        metavar="REPO",
        help="a Triton model repository of the legacy engine layout (the tensorrt_llm model "
        "of the inflight_batcher_llm ensemble): write a spec that serves the same model with "
        "the LLM API model, carrying over its checkpoint, parallelism, KV cache and batch "
        "settings, with comments on what to check and what has no successor",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crossfade.errors import UsageError

    path = Path(args.path)
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    if args.from_repository is not None:
        from crossfade.lint.from_repository import spec_from_repository
        from crossfade.spec import parse_spec

        text = spec_from_repository(Path(args.from_repository))
        parse_spec(text, str(path))  # what it writes loads: a SpecError here is a crossfade bug
        path.write_text(text, encoding="utf-8")
        print(
            f"wrote {path} from {args.from_repository}; check the lines marked CHECK, then: "
            f"crossfade render triton {path} -o NEW_REPO"
        )
        return 0
    from crossfade.spec.example import EXAMPLE_SPEC

    path.write_text(EXAMPLE_SPEC, encoding="utf-8")
    print(f"wrote {path}; edit it, then: crossfade render triton {path} -o model_repos")
    return 0
