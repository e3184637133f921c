"""`lab up`, `status`, `down`: start the tiny model on a real Triton and a real vLLM server.

`up` records every process it starts in state.json before waiting on it, and stops them all if
anything fails (or on Ctrl-C), so neither a failed `up` nor a crash of this process leaves a
server nobody knows about: the next `up` or `down` finds it in state.json and stops it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from crossfade.errors import UsageError
from crossfade.lab import readiness, triton_server, vllm_server
from crossfade.lab.processes import ManagedProcess, spawn, stop
from crossfade.lab.settings import LabSettings
from crossfade.lab.targets import ServedNames, Target, lab_targets, served_names
from crossfade.lab.tiny_model import ensure_tiny_model
from crossfade.render.tree import RenderedTree
from crossfade.render.triton import render_triton
from crossfade.render.triton_llmapi_emulator import EMULATED_LLMAPI, render_llmapi_emulator
from crossfade.spec import Spec, parse_spec
from crossfade.spec.tensorrtllm import TensorRTLLMEngine

Progress = Callable[[str], None]
TRITON, VLLM = "tritonserver", "vllm-openai"
LLMAPI_FOLDER = "tensorrtllm-llmapi"  # beside render_triton's tensorrtllm/ and vllm/


@dataclass
class LabStatus:
    settings: LabSettings
    processes: list[ManagedProcess] = field(default_factory=list)
    model_dir: str | None = None
    started_at: float | None = None
    names: ServedNames = field(default_factory=ServedNames)

    @property
    def running(self) -> bool:
        return bool(self.processes) and all(p.alive() for p in self.processes)

    def targets(self) -> list[Target]:
        return lab_targets(self.settings, self.names)

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": str(self.settings.folder),
            "running": self.running,
            "model_dir": self.model_dir,
            "started_at": self.started_at,
            "processes": [dict(p.to_json(), alive=p.alive()) for p in self.processes],
            "targets": [t.to_json() for t in self.targets()] if self.running else [],
        }


def lab_spec(model_dir: Path, spec_file: Path | None = None) -> Spec:
    """The lab spec (the packaged one unless `spec_file`), with {model_dir} filled in."""
    if spec_file is None:
        text = resources.files("crossfade.lab").joinpath("crossfade.lab.yaml").read_text("utf-8")
    else:
        text = spec_file.read_text(encoding="utf-8")
    spec = parse_spec(text.replace("{model_dir}", str(model_dir)), str(spec_file or "lab spec"))
    if spec.vllm is None or spec.tensorrtllm is None:
        raise UsageError("a lab spec needs both a vllm and a tensorrtllm section")
    trt = spec.tensorrtllm
    if (
        spec.vllm.triton_backend != "python"
        or not isinstance(trt, TensorRTLLMEngine)
        or (trt.emulator is None)
    ):
        raise UsageError(
            "the lab's Triton has only the python backend: a lab spec needs "
            "vllm.triton_backend: python and a tensorrtllm.emulator section"
        )
    return spec


def status(settings: LabSettings) -> LabStatus:
    """The lab recorded in `settings.folder`, with the ports it was started with."""
    if not settings.state_file.is_file():
        return LabStatus(settings)
    data = json.loads(settings.state_file.read_text(encoding="utf-8"))
    ports = data.get("ports", {})
    settings = replace(
        settings,
        http_port=ports.get("http", settings.http_port),
        grpc_port=ports.get("grpc", settings.grpc_port),
        metrics_port=ports.get("metrics", settings.metrics_port),
        vllm_port=ports.get("vllm", settings.vllm_port),
    )
    return LabStatus(
        settings,
        [ManagedProcess.from_json(p) for p in data.get("processes", [])],
        data.get("model_dir"),
        data.get("started_at"),
        ServedNames(**data.get("names", {})),
    )


def down(settings: LabSettings) -> list[str]:
    """Stop everything the lab started; returns the names of what was still running."""
    current = status(settings)
    stopped = [p.name for p in current.processes if p.alive()]
    for process in current.processes:
        stop(process)
    settings.state_file.unlink(missing_ok=True)
    # A stub killed after the grace period cannot remove its shared memory itself.
    for region in Path("/dev/shm").glob(f"{settings.shm_prefix}*"):
        region.unlink(missing_ok=True)
    return stopped


def up(
    settings: LabSettings, progress: Progress = print, spec_file: Path | None = None
) -> LabStatus:
    current = status(settings)
    if current.running:
        progress("lab already running")
        return current
    down(settings)  # leftovers of a crashed `up` or a half-dead lab
    triton_server.check_environment()
    install = triton_server.find_triton()
    started = time.monotonic()
    progress("building the tiny model (cached after the first run)")
    model_dir = ensure_tiny_model(settings.model_cache)
    spec = lab_spec(model_dir, spec_file)
    _render(spec, settings)
    backends = triton_server.prepare_backends(install, settings)
    settings.emulator_overrides.unlink(missing_ok=True)
    lab = LabStatus(
        settings, model_dir=str(model_dir), started_at=time.time(), names=served_names(spec)
    )
    try:
        lab.processes.append(
            spawn(
                TRITON,
                triton_server.server_command(install, settings, backends),
                triton_server.server_environment(install, settings),
                settings.logs / f"{TRITON}.log",
            )
        )
        _save(lab)
        assert spec.vllm is not None  # checked by lab_spec
        lab.processes.append(
            spawn(
                VLLM,
                vllm_server.server_command(spec.vllm.model_json(), settings),
                vllm_server.server_environment(settings),
                settings.logs / f"{VLLM}.log",
            )
        )
        _save(lab)
        progress(
            "starting Triton (vLLM model, emulated TensorRT-LLM LLM API model and legacy "
            "ensemble) and vLLM"
        )
        _wait_ready(lab, spec, time.monotonic() + settings.ready_timeout_s, progress)
    except BaseException:
        for process in lab.processes:
            stop(process)
        settings.state_file.unlink(missing_ok=True)
        raise
    progress(f"lab ready in {time.monotonic() - started:.0f} s")
    return lab


def render_lab(spec: Spec) -> RenderedTree:
    """The lab's model repositories: the spec's two (vLLM, the legacy TensorRT-LLM ensemble
    around the engine emulator) and a third with the emulated LLM API model."""
    tree = render_triton(spec)
    tree.merge(render_llmapi_emulator(spec), prefix=f"{LLMAPI_FOLDER}/")
    return tree


def _render(spec: Spec, settings: LabSettings) -> None:
    shutil.rmtree(settings.repos, ignore_errors=True)
    render_lab(spec).write(settings.repos)


def _save(lab: LabStatus) -> None:
    lab.settings.folder.mkdir(parents=True, exist_ok=True)
    data = {
        "processes": [p.to_json() for p in lab.processes],
        "model_dir": lab.model_dir,
        "started_at": lab.started_at,
        "ports": lab.settings.ports(),
        "names": asdict(lab.names),
    }
    lab.settings.state_file.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _wait_ready(lab: LabStatus, spec: Spec, deadline: float, progress: Progress) -> None:
    settings = lab.settings
    triton, vllm = lab.processes
    names = served_names(spec)
    base = f"http://{settings.host}:{settings.http_port}"
    native = f"http://{settings.host}:{settings.vllm_port}"
    readiness.wait_healthy(triton, f"{base}/v2/health/ready", deadline)
    progress("Triton ready; checking one generation per model")
    prompt = "The lab is up"
    readiness.check_generation(
        names.triton_vllm_model,
        f"{base}/v2/models/{names.triton_vllm_model}/generate",
        {
            "text_input": prompt,
            "exclude_input_in_output": True,
            "parameters": {"max_tokens": 4},
        },
        "text_output",
    )
    for model in ("ensemble", "tensorrt_llm_bls"):
        readiness.check_generation(
            model,
            f"{base}/v2/models/{model}/generate",
            {"text_input": prompt, "max_tokens": 4, "exclude_input_in_output": True},
            "text_output",
        )
    readiness.check_generation(
        EMULATED_LLMAPI,
        f"{base}/v2/models/{EMULATED_LLMAPI}/generate",
        {"text_input": prompt, "sampling_param_max_tokens": 4},
        "text_output",
    )
    readiness.wait_healthy(vllm, f"{native}/health", deadline)
    readiness.check_generation(
        VLLM,
        f"{native}/v1/completions",
        {"model": names.openai_model, "prompt": prompt, "max_tokens": 4},
        "choices.0.text",
    )
