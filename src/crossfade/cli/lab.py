"""`crossfade lab up | status | logs | down`: a real Triton and a real vLLM on this machine."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", metavar="DIR", help="lab folder (default: ~/.cache/crossfade/lab)")
    sub = parser.add_subparsers(dest="lab_command", metavar="ACTION", required=True)

    up = sub.add_parser(
        "up",
        parents=[common],
        help="start the lab and wait until every target answers",
        description="Build the tiny model (once), render the lab's repositories with crossfade's "
        "renderer, start tritonserver (vLLM model, emulated TensorRT-LLM LLM API model and legacy "
        "ensemble) and vLLM's OpenAI server, and wait until each answers a real generation.",
    )
    up.add_argument("--http-port", type=int, default=18000)
    up.add_argument("--grpc-port", type=int, default=18001)
    up.add_argument("--metrics-port", type=int, default=18002)
    up.add_argument("--vllm-port", type=int, default=18100)
    up.add_argument("--timeout", type=float, default=420.0, help="seconds to wait for readiness")
    up.add_argument(
        "--spec",
        metavar="FILE",
        help="a lab spec of your own (default: the packaged crossfade.lab.yaml); "
        "{model_dir} in it becomes the tiny model's folder",
    )
    up.set_defaults(run=run_up)

    status = sub.add_parser("status", parents=[common], help="processes and targets")
    status.add_argument("--json", action="store_true", help="machine-readable, with target URLs")
    status.set_defaults(run=run_status)

    logs = sub.add_parser("logs", parents=[common], help="show the servers' logs")
    logs.add_argument("name", nargs="?", help="tritonserver or vllm-openai (default: both)")
    logs.add_argument("-n", "--lines", type=int, default=40)
    logs.set_defaults(run=run_logs)

    down = sub.add_parser("down", parents=[common], help="stop everything the lab started")
    down.set_defaults(run=run_down)


def _settings(args: argparse.Namespace) -> object:
    from pathlib import Path

    from crossfade.lab.control import status
    from crossfade.lab.settings import LabSettings, default_lab_dir

    folder = Path(args.dir) if args.dir else default_lab_dir()
    if args.lab_command == "up":
        return LabSettings(
            folder,
            http_port=args.http_port,
            grpc_port=args.grpc_port,
            metrics_port=args.metrics_port,
            vllm_port=args.vllm_port,
            ready_timeout_s=args.timeout,
        )
    # Other actions use the ports the running lab was started with.
    return status(LabSettings(folder)).settings


def run_up(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crossfade.lab.control import up
    from crossfade.lab.settings import LabSettings

    settings = _settings(args)
    assert isinstance(settings, LabSettings)
    spec = Path(args.spec) if args.spec else None
    lab = up(
        settings, progress=lambda message: print(f"lab: {message}", flush=True), spec_file=spec
    )
    _print_targets(lab.to_json())
    return 0


def run_status(args: argparse.Namespace) -> int:
    import json

    from crossfade.lab.control import status
    from crossfade.lab.settings import LabSettings

    settings = _settings(args)
    assert isinstance(settings, LabSettings)
    data = status(settings).to_json()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for process in data["processes"]:
            state = "running" if process["alive"] else "stopped"
            print(f"{process['name']:<14} pid {process['pid']:<8} {state}   log {process['log']}")
        if not data["processes"]:
            print(f"no lab in {data['folder']}")
        _print_targets(data)
    return 0 if data["running"] else 1


def run_logs(args: argparse.Namespace) -> int:
    from crossfade.lab.settings import LabSettings

    settings = _settings(args)
    assert isinstance(settings, LabSettings)
    names = [args.name] if args.name else ["tritonserver", "vllm-openai"]
    for name in names:
        path = settings.logs / f"{name}.log"
        print(f"==> {path} <==")
        if path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            print("\n".join(lines[-args.lines :]))
        else:
            print("(no log yet)")
    return 0


def run_down(args: argparse.Namespace) -> int:
    from crossfade.lab.control import down
    from crossfade.lab.settings import LabSettings

    settings = _settings(args)
    assert isinstance(settings, LabSettings)
    stopped = down(settings)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def _print_targets(data: dict[str, object]) -> None:
    targets = data.get("targets") or []
    assert isinstance(targets, list)
    for target in targets:
        mark = "  (EMULATED: not TensorRT-LLM)" if target["emulated"] else ""
        print(f"{target['name']:<30} {target['url']}{mark}")
        print(f"{'':<30} metrics {target['metrics_url']}")
