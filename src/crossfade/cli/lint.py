"""`crossfade lint PATH...`: model repositories, engine folders and Kubernetes manifests."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossfade.cli.fail_on import add_fail_on, exit_status


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a folder to search (model repositories, engine folders, Kubernetes manifests), "
        "or one thing to lint: a model folder, a config.pbtxt or model.json, an engine "
        "folder or its config.json, a manifest file",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_fail_on(parser)
    parser.add_argument(
        "--image", metavar="TAG", help="Triton container tag the engines will be served by"
    )
    parser.add_argument("--gpu", metavar="NAME", help="GPU the engines will be served on")
    k8s = parser.add_argument_group("Kubernetes manifests")
    k8s.add_argument(
        "--crd-dir",
        metavar="DIR",
        type=Path,
        action="append",
        default=[],
        help="folder (or file) of your cluster's CustomResourceDefinitions; crossfade ships "
        "the schemas of Istio, Gateway API (both channels), InferencePool, Argo Rollouts, "
        "Flagger and Prometheus Operator kinds, and a kind defined here replaces them; "
        "repeatable",
    )
    k8s.add_argument(
        "--k8s-version",
        metavar="X.Y",
        help="Kubernetes version whose schemas the built-in kinds are checked against "
        "(default: the newest kubernetes-validate has)",
    )
    k8s.add_argument(
        "--engine",
        metavar="DIR",
        type=Path,
        help="TensorRT-LLM engine folder; its tp x pp must equal the GPUs of the TensorRT-LLM pods",
    )
    k8s.add_argument(
        "--gateway-channel",
        choices=("standard", "experimental"),
        help="Gateway API channel installed in the cluster (default: the channel of the "
        "HTTPRoute CRD given with --crd-dir; otherwise standard)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from crossfade.lint.k8s import K8sOptions
    from crossfade.lint.runner import lint_paths

    k8s = K8sOptions(
        crd_paths=tuple(args.crd_dir),
        k8s_version=args.k8s_version,
        engine=args.engine,
        gateway_channel=args.gateway_channel,
    )
    findings = lint_paths(args.paths, image=args.image, gpu=args.gpu, k8s=k8s)
    if args.format == "json":
        print(json.dumps([f.to_json() for f in findings], indent=2))
    else:
        for finding in findings:
            print(f"{finding.location()}: {finding.severity} {finding.code}: {finding.message}")
            if finding.hint:
                print(f"    fix: {finding.hint}")
        errors = sum(1 for f in findings if f.severity == "error")
        print(f"{len(findings)} finding(s): {errors} error(s), {len(findings) - errors} warning(s)")
    return exit_status(findings, args.fail_on)
