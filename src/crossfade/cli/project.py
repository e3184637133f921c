"""`crossfade project SPEC`: what TensorRT-LLM and vLLM would do on the spec's GPUs, projected by
AIConfigurator from measured kernel databases (no GPU here), saved as projection.json."""

from __future__ import annotations

import argparse
from typing import Any

EPILOG = """\
The projection runs in its own environment (.venv-projection, made by
scripts/setup --projection or --lab; or $CROSSFADE_PROJECTION_PYTHON): see
docs/projection.md. Every figure is a projection, not a measurement.

exit codes:
  0  every point projected and saved
  1  saved, but some points could not be projected (see the table's notes)
  2  usage error, or what the projection's databases do not cover: nothing saved"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("spec", metavar="SPEC", help="spec file (crossfade.yaml)")
    parser.add_argument(
        "--input-len", type=int, required=True, metavar="N", help="tokens in each prompt"
    )
    parser.add_argument(
        "--output-len", type=int, required=True, metavar="N", help="tokens in each answer"
    )
    parser.add_argument(
        "--concurrency", required=True, metavar="LEVELS", help="requests in flight, e.g. 1,8,32"
    )
    parser.add_argument(
        "--model-config",
        metavar="PATH",
        help="the model's Hugging Face config.json, or its folder (default: the one crossfade "
        "ships for the example specs' models)",
    )
    parser.add_argument("--gpu", metavar="NAME", help="instead of the spec's gpu, e.g. H100, L40S")
    parser.add_argument(
        "--quantization",
        metavar="Q",
        help="of the weights, as deployment.quantization: none, fp8, nvfp4, awq or gptq "
        "(default: the spec's deployment.quantization, else vLLM's quantization engine "
        "argument, else none)",
    )
    parser.add_argument(
        "--kv-cache-dtype",
        metavar="DTYPE",
        help="bfloat16 or fp8 (default: fp8 when either backend's section asks for an FP8 KV "
        "cache)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="folder for projection.json (default: results/projection-MODEL-SYSTEM)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the projection.json already in -o DIR"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path
    from typing import get_args

    from rich.console import Console

    from crossfade.bench.sweep import parse_levels
    from crossfade.cli.output import output_folder, refuse_existing
    from crossfade.errors import UsageError
    from crossfade.project.environment import projection_python
    from crossfade.project.hf_config import read_hf_config
    from crossfade.project.inputs import Workload, plan_projection
    from crossfade.project.model import PROJECTION_FILE, KvCacheDtype, save_projection
    from crossfade.project.projection import project
    from crossfade.project.table import projection_table
    from crossfade.spec.load import load_spec
    from crossfade.spec.models import Quantization

    quantization = _one_of("--quantization", args.quantization, get_args(Quantization))
    kv_cache_dtype = _one_of("--kv-cache-dtype", args.kv_cache_dtype, get_args(KvCacheDtype))
    try:
        levels = [int(level) for level in parse_levels(args.concurrency, "concurrency")]
    except ValueError as exc:
        raise UsageError(
            f"--concurrency {args.concurrency}: {exc}; give levels like 1,8,32"
        ) from None
    spec = load_spec(args.spec)
    given = None if args.model_config is None else Path(args.model_config)
    hf_config = read_hf_config(given, spec, "--model-config")
    workload = Workload(args.input_len, args.output_len, levels)
    plan = plan_projection(
        spec,
        args.spec,
        hf_config,
        workload,
        gpu=args.gpu,
        quantization=quantization,
        kv_cache_dtype=kv_cache_dtype,
    )
    default = f"results/projection-{spec.model.name}-{plan.inputs.system}"
    folder = output_folder("-o", args.output if args.output is not None else default)
    if not args.overwrite:
        refuse_existing(folder, (PROJECTION_FILE,), "a projection", "or --overwrite to replace it")
    projection = project(plan, projection_python())
    path = save_projection(folder, projection)
    Console().print(projection_table(projection))
    print(f"saved {path}")
    failed = any(p.figures is None for b in projection.backends for p in b.points)
    return 1 if failed else 0


def _one_of(flag: str, value: str | None, allowed: tuple[str, ...]) -> Any:
    from crossfade.errors import UsageError

    if value is not None and value not in allowed:
        raise UsageError(f"{flag} {value!r}: give one of {', '.join(allowed)}")
    return value
