"""`crossfade render triton|k8s SPEC -o DIR [--check]`, `crossfade render bench-job SPEC` and
`crossfade render canary SPEC PLAN --driver argo|flagger`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossfade.render.tree import RenderedTree

_RECORD_HELP = (
    "Each render records what it wrote (DIR/.crossfade-render-TARGET) and removes the files "
    "its previous render wrote and no longer renders, such as a renamed model's old folder; "
    "--check reports them as stale."
)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    triton = sub.add_parser(
        "triton",
        help="Triton model repositories for both backends",
        description="Render one Triton model repository per backend in the spec. "
        "DIR/tensorrtllm/ holds, for tensorrtllm.layout llmapi (the default), the LLM API "
        "model: DIR/tensorrtllm/MODEL/ with config.pbtxt, 1/model.yaml (the LLM() arguments "
        "and triton_config) and MODEL_FILES.md (where model.py and helpers.py come from); MODEL "
        "is tensorrtllm.triton_model_name, tensorrt_llm unless set. For the legacy layout "
        "engine it holds the engine ensemble (ensemble, preprocessing, tensorrt_llm, "
        "postprocessing, tensorrt_llm_bls); a spec that gives engine_dir and no layout gets "
        "this one, with a note. DIR/vllm/ holds one model folder, DIR/vllm/MODEL/ with "
        "config.pbtxt and 1/model.json (MODEL is vllm.triton_model_name, vllm_model unless "
        f"set). {_RECORD_HELP}",
    )
    triton.add_argument("spec", metavar="SPEC", help="spec file (crossfade.yaml)")
    triton.add_argument("-o", "--output", metavar="DIR", required=True, help="output folder")
    triton.add_argument(
        "--check",
        action="store_true",
        help="write nothing; report differences against DIR and exit 1 if there are any",
    )
    triton.set_defaults(run=run_triton)

    k8s = sub.add_parser(
        "k8s",
        help="Kubernetes manifests for both backends, the traffic split and the Jobs",
        description="Render the spec's kubernetes section: per backend a ConfigMap (the model "
        "repository), a Deployment and a Service; a Prometheus monitor; the traffic split "
        "(Istio or Gateway API); and, under DIR/jobs (which `kubectl apply -f DIR` skips), the "
        "engine build Job (legacy engine layout) and the benchmark Jobs. TensorRT-LLM's LLM API "
        "pods load tensorrtllm.llm_args.model and copy model.py and helpers.py from the serving "
        "image. A split that sends requests to both backends needs one request to work on "
        "both: the legacy ensemble and a vLLM model named like it (vllm.triton_model_name: "
        "ensemble); never the LLM API model and vLLM. Otherwise it is refused. "
        f"{_RECORD_HELP}",
    )
    k8s.add_argument("spec", metavar="SPEC", help="spec file (crossfade.yaml)")
    k8s.add_argument(
        "-o", "--output", metavar="DIR", required=True, help="output folder, or - for one stream"
    )
    k8s.add_argument(
        "--gateway-channel",
        choices=("standard", "experimental"),
        default="standard",
        help="Gateway API channel installed in the cluster; HTTPRoute retries need experimental",
    )
    k8s.add_argument(
        "--check",
        action="store_true",
        help="write nothing; report differences against DIR and exit 1 if there are any",
    )
    k8s.set_defaults(run=run_k8s)

    bench = sub.add_parser(
        "bench-job",
        help="one distributed benchmark Job (Indexed Job running crossfade bench shards)",
        description="Render an Indexed Job whose N pods each run one shard of crossfade bench "
        "from a common start; pod 0 merges the shards. Values not given come from the spec's "
        "kubernetes.bench section. Not yet for TensorRT-LLM's LLM API model: crossfade bench "
        "has no target for it (triton-llmapi://).",
    )
    bench.add_argument("spec", metavar="SPEC", help="spec file (crossfade.yaml)")
    bench.add_argument(
        "-o", "--output", metavar="DIR", default="-", help="output folder (default: - , stdout)"
    )
    bench.add_argument(
        "--backend", choices=("tensorrtllm", "vllm"), help="target this backend's Service"
    )
    bench.add_argument("--target", metavar="URL", help="crossfade bench TARGET (any scheme)")
    bench.add_argument("--name", metavar="LABEL", help="Job name suffix (default: the backend)")
    bench.add_argument("--pods", type=int, help="pods (shards) of the Indexed Job")
    bench.add_argument("--concurrency", type=int, help="total requests in flight")
    bench.add_argument("--rate", type=float, help="total requests per second")
    bench.add_argument("--requests", type=int, help="total measured requests")
    bench.add_argument("--duration", type=float, help="seconds of sending")
    bench.add_argument("--input-len", help="crossfade bench --input-len")
    bench.add_argument("--output-len", help="crossfade bench --output-len")
    bench.add_argument(
        "--start-at",
        type=int,
        metavar="UNIX_SECONDS",
        help="common start (date +%%s); default: the first pod up sets it a little ahead",
    )
    bench.set_defaults(run=run_bench_job)

    canary = sub.add_parser(
        "canary",
        help="a canary plan as an Argo Rollout or a Flagger Canary, with its Prometheus gates",
        description="Render the canary plan (as `crossfade canary` reads it) for a controller in "
        "the cluster: the two backends become revisions of one workload (Argo Rollout, or the "
        "Deployment a Flagger Canary targets), the plan's steps its traffic weights, and its "
        "gates Prometheus queries on what each serving layout exports, vllm:* and Triton's "
        "nv_inference_* (AnalysisTemplate or MetricTemplates). DIR/incumbent holds the workload "
        "on the incumbent, to apply first when it does not exist yet. Which gates were rendered, "
        "which were left out and why, is said in the files and on stderr. Both "
        "revisions answer one address, so it is refused, as a split is, when no one request "
        f"works on both backends. {_RECORD_HELP}",
    )
    canary.add_argument("spec", metavar="SPEC", help="spec file (crossfade.yaml)")
    canary.add_argument("plan", metavar="PLAN", help="canary plan (see `crossfade canary --help`)")
    canary.add_argument(
        "--driver", choices=("argo", "flagger"), required=True, help="the controller to render for"
    )
    canary.add_argument(
        "--router",
        choices=("istio", "gateway"),
        help="traffic split: Istio VirtualService or Gateway API HTTPRoute "
        "(default: the spec's kubernetes.traffic.router, else istio)",
    )
    canary.add_argument(
        "--candidate",
        choices=("tensorrtllm", "vllm"),
        help="the backend the plan moves to, when its backend names do not say",
    )
    canary.add_argument(
        "--prometheus",
        metavar="URL",
        help="Prometheus the gates query "
        "(default: http://prometheus-operated.monitoring.svc.cluster.local:9090)",
    )
    canary.add_argument(
        "-o", "--output", metavar="DIR", required=True, help="output folder, or - for one stream"
    )
    canary.add_argument(
        "--check",
        action="store_true",
        help="write nothing; report differences against DIR and exit 1 if there are any",
    )
    canary.set_defaults(run=run_canary)


def run_triton(args: argparse.Namespace) -> int:
    from crossfade.render.triton import render_notes, render_triton
    from crossfade.spec.load import load_spec

    spec = load_spec(args.spec)
    for note in render_notes(spec):
        print(f"crossfade render triton: note: {note}", file=sys.stderr)
    return _write_or_check(render_triton(spec), args, "triton")


def _write_or_check(tree: RenderedTree, args: argparse.Namespace, command: str) -> int:
    """Write `tree` under -o (removing what the last render of `command` left), or --check it."""
    from crossfade.cli.output import output_folder

    root = output_folder("-o", args.output)
    try:
        if args.check:
            differences = tree.diff(root, command)
            for difference in differences:
                print(difference, end="")
            if differences:
                print(f"{root}: {len(differences)} difference(s) from {args.spec}")
                return 1
            print(f"{root}: up to date with {args.spec}")
            return 0
        report = tree.sync(root, command)
    except OSError as exc:
        raise _unwritable(root, exc) from None
    print(f"wrote {len(report.written)} files under {root}/")
    for relpath in report.removed:
        print(f"removed {root}/{relpath}: rendered before, no longer rendered")
    for relpath in report.kept:
        print(
            f"crossfade render {command}: {root / relpath} was rendered before and no longer is, "
            "but it was edited since, so it is left in place: delete it if it is stale "
            "(Triton loads every model folder in a repository)",
            file=sys.stderr,
        )
    return 1 if report.kept else 0


def _unwritable(root: Path, exc: OSError) -> Exception:
    from crossfade.errors import UsageError

    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(root) else ""
    return UsageError(
        f"-o {root}: cannot write there{where}: {exc.strerror or exc}; "
        "give a folder you can write to"
    )


def run_k8s(args: argparse.Namespace) -> int:
    from crossfade.errors import UsageError
    from crossfade.render.k8s.manifests import as_stream, render_k8s, render_notes
    from crossfade.spec.load import load_spec

    spec = load_spec(args.spec)
    traffic = spec.kubernetes.traffic if spec.kubernetes else None
    if args.gateway_channel == "experimental" and (
        traffic is None or traffic.router != "gateway-api"
    ):
        raise UsageError(
            "--gateway-channel shapes the HTTPRoute; the spec renders none "
            "(kubernetes.traffic.router is not gateway-api)"
        )
    tree = render_k8s(spec, Path(args.spec).name, args.gateway_channel)
    for note in render_notes(spec, args.gateway_channel):
        print(f"crossfade render k8s: note: {note}", file=sys.stderr)
    if args.output == "-":
        if args.check:
            raise UsageError("--check compares against a folder; give -o DIR")
        sys.stdout.write(as_stream(tree))
        return 0
    return _write_or_check(tree, args, "k8s")


def run_bench_job(args: argparse.Namespace) -> int:
    from crossfade.cli.output import output_folder
    from crossfade.render.k8s.bench_job import resolve_bench_run
    from crossfade.render.k8s.manifests import as_stream, render_bench_job
    from crossfade.spec.load import load_spec

    spec = load_spec(args.spec)
    load = {
        "pods": args.pods,
        "concurrency": args.concurrency,
        "rate": args.rate,
        "requests": args.requests,
        "duration_s": args.duration,
        "input_len": args.input_len,
        "output_len": args.output_len,
    }
    run = resolve_bench_run(
        spec,
        backend=args.backend,
        target=args.target,
        label=args.name,
        start_at=args.start_at,
        load=load,
    )
    tree = render_bench_job(spec, Path(args.spec).name, run)
    if args.output == "-":
        sys.stdout.write(as_stream(tree))
        return 0
    # No record here: several bench Jobs are often rendered into one folder, one by one.
    root = output_folder("-o", args.output)
    try:
        written = tree.write(root)
    except OSError as exc:
        raise _unwritable(root, exc) from None
    print(f"wrote {', '.join(str(path) for path in written)}")
    return 0


def run_canary(args: argparse.Namespace) -> int:
    from crossfade.errors import UsageError
    from crossfade.render.k8s.canary import DEFAULT_PROMETHEUS, build_setup, render_canary
    from crossfade.render.k8s.manifests import as_stream
    from crossfade.spec.canary_plan import load_plan
    from crossfade.spec.load import load_spec

    spec = load_spec(args.spec)
    plan = load_plan(args.plan)
    setup = build_setup(
        spec, plan, args.router, args.candidate, args.prometheus or DEFAULT_PROMETHEUS
    )
    sources = (Path(args.spec).name, Path(args.plan).name)
    tree, notes = render_canary(setup, args.driver, sources)
    print(f"crossfade render canary: gates: {setup.summary}", file=sys.stderr)
    for note in notes:
        print(f"crossfade render canary: note: {note}", file=sys.stderr)
    if args.output == "-":
        if args.check:
            raise UsageError("--check compares against a folder; give -o DIR")
        sys.stdout.write(as_stream(tree))
        return 0
    return _write_or_check(tree, args, "canary")
