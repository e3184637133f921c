"""`crossfade route CONFIG`: run the router until interrupted (or `--check` the config); with
`--plan PLAN`, run that canary against it in the same process. Exit 0, or with a plan, the
canary's outcome: 0 promoted, 1 rolled back, paused or not finished when the router stopped."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossfade.rollout.canary.session import CanarySession
    from crossfade.rollout.router.config import RouterConfig


EXAMPLE = """\
config (every key, its default and the limits on requests: docs/router.md):
  version: 1
  listen: {host: 127.0.0.1, port: 18800}      # port 0: any free port, printed
  admin: {host: 127.0.0.1, port: 18801, token_env: CROSSFADE_ADMIN_TOKEN}
  backends:                                    # fallback order: first is highest
    - {name: vllm-triton, target: "triton-vllm://127.0.0.1:18000/vllm_model", weight: 90}
    - {name: trtllm-ensemble, target: "triton-trtllm://127.0.0.1:18000/ensemble", weight: 10}
  sticky: {header: x-session-id}               # optional; or {field: user} (a body field)
  health: {interval_s: 2, eject_after_failures: 3, restore_after_successes: 2}
  shadow: {backend: trtllm-ensemble, share: 0.1}   # optional: copies, never answered
  timeouts: {first_token_s: 60, idle_s: 30, total_s: 600}
  triton_fronts: {tensorrt_llm: llmapi}        # the default: what each model's clients send

targets: triton-vllm://HOST:PORT/MODEL, triton-trtllm://HOST:PORT/MODEL (ensemble or BLS),
triton-llmapi://HOST:PORT/MODEL (the LLM API model), openai://HOST:PORT/v1?model=NAME,
openai-chat://HOST:PORT/v1?model=NAME.
clients: POST /v1/completions, /v1/chat/completions, /v2/models/M/generate[_stream] (as
clients of the vLLM backend or the ensemble write it, or, for a model triton_fronts maps to
llmapi, as clients of TensorRT-LLM's LLM API model do); GET /metrics, /health,
/v2/health/ready. The admin API (weights, shadow, eject, restore,
observations) takes the token as 'Authorization: Bearer TOKEN'."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLE
    parser.add_argument("config", metavar="CONFIG", help="the router's YAML config (below)")
    parser.add_argument(
        "--check", action="store_true", help="validate the config, print the backends, and exit"
    )
    parser.add_argument(
        "--plan",
        metavar="PLAN",
        help="a canary plan (see crossfade canary --help) to run against this router; its "
        "router: section is not needed. The router keeps serving after the canary ends",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="with --plan: begin a new run even if the journal's last run ended",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os

    from crossfade.errors import UsageError
    from crossfade.rollout.router.config import load_router_config

    config = load_router_config(args.config)
    variable = config.admin.token_env
    token = os.environ.get(variable, "")
    if args.check:
        for backend in config.backends:
            print(f"{backend.name}: {backend.target} (weight {backend.weight:g})")
        print(f"admin token: ${variable} is {'set' if token else 'NOT set'}")
        return 0
    if not token:
        raise UsageError(
            f"{args.config}: admin.token_env: the environment variable {variable} is not set; "
            f"export {variable}=SECRET (the admin API refuses every call without it)"
        )
    session = _canary_session(args.plan, args.restart, config) if args.plan else None
    return _serve(config, token, session)


def _canary_session(path: str, restart: bool, config: RouterConfig) -> CanarySession:
    from crossfade.errors import UsageError
    from crossfade.rollout.canary.session import open_session
    from crossfade.spec.canary_plan import load_plan

    plan = load_plan(path)
    if plan.router is not None:
        print(f"{path}: router: not used; with --plan the canary drives this router")
    # The router refuses exact-length requests (ignore_eos) while a backend cannot take them,
    # and checks lengths only of those: the gate would stay unclear and the canary pause.
    inexact = [b for b in config.backends if not b.spec.dialect.forces_length]
    if plan.gates.length_mismatch_delta_max is not None and inexact:
        backend = inexact[0]
        raise UsageError(
            f"{path}: gates.length_mismatch_delta_max: backend {backend.name} "
            f"({backend.target}) cannot be asked for an exact output length, so the router "
            "refuses ignore_eos and checks no length; the gate could never be judged: leave it "
            "out"
        )
    return open_session(plan, restart=restart)


def _serve(config: RouterConfig, token: str, session: CanarySession | None) -> int:
    import asyncio
    import signal

    from crossfade.bench import loop
    from crossfade.errors import UsageError
    from crossfade.rollout.router.server import Router

    outcome = 0 if session is None else 1

    async def main() -> None:
        nonlocal outcome
        router = Router(config, token)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await router.start()
        except OSError as exc:
            await router.stop()
            raise UsageError(
                f"cannot listen: {exc}; choose other ports in listen:/admin:"
            ) from None
        listen, admin = config.listen, config.admin
        print(f"crossfade route: serving on http://{listen.host}:{router.data_port}", flush=True)
        print(f"crossfade route: admin API on http://{admin.host}:{router.admin_port}", flush=True)
        canary = None
        if session is not None:
            admin_url = f"http://{_reachable(admin.host)}:{router.admin_port}"
            canary = asyncio.create_task(_run_canary(session, admin_url, token, admin.token_env))
        try:
            await stop.wait()
        finally:
            unfinished = canary is not None and not canary.done()
            if canary is not None and unfinished:
                canary.cancel()
                print(
                    "crossfade route: stopped before the canary ended; run the same "
                    "command again to resume it from its journal",
                    flush=True,
                )
            await router.stop()
            if canary is not None and not unfinished:
                outcome = canary.result()  # a bug in the canary is raised here, after the stop

    loop.run(main())
    return outcome


def _reachable(host: str) -> str:
    """An address to reach a listener bound to `host` from this machine."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


async def _run_canary(session: CanarySession, admin_url: str, token: str, token_env: str) -> int:
    """The canary's exit status: 0 promoted, 1 otherwise. A failure is printed, not raised:
    the router keeps serving whatever split the canary last set."""
    from rich.console import Console

    from crossfade.cli.canary import decision_line
    from crossfade.rollout.canary.errors import CanaryError
    from crossfade.rollout.canary.machine import Phase
    from crossfade.rollout.canary.session import drive

    plan = session.plan
    console = Console(highlight=False, soft_wrap=True)
    try:
        phase = await drive(
            session, admin_url, token, token_env, lambda d: console.print(decision_line(plan, d))
        )
    except CanaryError as exc:
        console.print(f"canary: {exc}; the router keeps its current weights", style="bold red")
        return 1
    console.print(f"canary {phase}; journal: {plan.journal}; the router keeps serving")
    return 0 if phase is Phase.PROMOTED else 1
