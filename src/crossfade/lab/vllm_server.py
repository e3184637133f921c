"""vLLM's own OpenAI-compatible server, started with the same engine arguments as the vLLM
model inside Triton, so the two can be compared for real."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from crossfade.lab.settings import LabSettings
from crossfade.lab.triton_server import engine_environment


def engine_flags(engine_args: dict[str, Any]) -> list[str]:
    """model.json engine arguments as the server's command-line flags."""
    flags: list[str] = []
    for key, value in engine_args.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value is False:
            flags.append("--no-" + key.replace("_", "-"))
        elif isinstance(value, dict | list):
            flags += [flag, json.dumps(value)]
        else:
            flags += [flag, str(value)]
    return flags


def server_command(engine_args: dict[str, Any], settings: LabSettings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        *engine_flags(engine_args),
        "--host",
        settings.host,
        "--port",
        str(settings.vllm_port),
    ]


def server_environment(settings: LabSettings) -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C.UTF-8"
    env.update(engine_environment())
    return env
