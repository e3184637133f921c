"""Triton Inference Server from the nvidia-pytriton wheel, set up the way it runs on a CPU.

The wheel carries a real `tritonserver` with the python backend. Running it outside pytriton
needs what docs/lab.md lists (traps 1-6 of the CPU notes): the stub for this Python beside the
backend library, the wheel's bundled libraries and this interpreter's libpython first on
LD_LIBRARY_PATH, this environment first on PATH, and a UTF-8 locale.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from crossfade.errors import CrossfadeError
from crossfade.lab.settings import LabSettings


class LabSetupError(CrossfadeError):
    """The lab cannot start on this machine as it is set up."""


@dataclass(frozen=True)
class TritonInstall:
    root: Path  # pytriton/tritonserver

    @property
    def binary(self) -> Path:
        return self.root / "bin" / "tritonserver"

    @property
    def python_backend(self) -> Path:
        return self.root / "backends" / "python"

    @property
    def stub(self) -> Path:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        return self.root / "python_backend_stubs" / version / "triton_python_backend_stub"

    @property
    def bundled_libs(self) -> list[Path]:
        site = self.root.parent.parent
        candidates = [site / "nvidia_pytriton.libs", self.root / "external_libs"]
        return [path for path in candidates if path.is_dir()]


def find_triton() -> TritonInstall:
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise LabSetupError(
            "Triton's server binary is missing: install the lab (scripts/setup --lab, or "
            "pip install 'crossfade[lab]' then pip install --no-deps nvidia-pytriton==0.7.0)"
        )
    install = TritonInstall(Path(next(iter(spec.submodule_search_locations))) / "tritonserver")
    if not install.binary.is_file():
        raise LabSetupError(f"no tritonserver binary at {install.binary}")
    if not install.stub.is_file():
        raise LabSetupError(f"the wheel has no python-backend stub for this Python: {install.stub}")
    return install


def check_environment() -> None:
    """Fail early, with the fix, on the traps that otherwise show up as obscure load errors."""
    import numpy

    if int(numpy.__version__.split(".")[0]) >= 2:
        raise LabSetupError(
            f"numpy {numpy.__version__} is installed; Triton's python stub misreads numpy 2 "
            "arrays. Fix: pip install --no-deps 'numpy<2'"
        )
    if importlib.util.find_spec("torchvision") is not None:
        raise LabSetupError(
            "torchvision is installed but built for another torch, which breaks transformers. "
            "Fix: pip uninstall -y torchvision torchaudio torchcodec"
        )


def prepare_backends(install: TritonInstall, settings: LabSettings) -> Path:
    """A backend folder whose python backend also holds the stub for this Python (trap 1)."""
    target = settings.backends / "python"
    target.mkdir(parents=True, exist_ok=True)
    sources = [p for p in install.python_backend.iterdir() if p.is_file()] + [install.stub]
    for source in sources:
        destination = target / source.name
        if not destination.exists() or destination.stat().st_size != source.stat().st_size:
            shutil.copy2(source, destination)
    return settings.backends


def server_environment(install: TritonInstall, settings: LabSettings) -> dict[str, str]:
    env = dict(os.environ)
    libpython = sysconfig.get_config_var("LIBDIR") or ""
    library_path = [libpython, *(str(p) for p in install.bundled_libs)]
    if env.get("LD_LIBRARY_PATH"):
        library_path.append(env["LD_LIBRARY_PATH"])
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in library_path if p)
    # The stub finds its sys.prefix from the python3 on PATH (trap 3).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["LC_ALL"] = "C.UTF-8"  # trap 6
    env.update(engine_environment())
    env["CROSSFADE_EMULATOR_OVERRIDES"] = str(settings.emulator_overrides)
    return env


def engine_environment() -> dict[str, str]:
    """Environment for every vLLM engine the lab starts, inside Triton or native: offline."""
    return {
        # With this off, vLLM's CPU platform keeps the `uni` executor the lab spec asks for, so
        # the model worker runs inside the engine-core process instead of a third process (one
        # vLLM import and ~0.6 GiB less per engine). AsyncLLM still runs its engine core in a
        # process of its own.
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }


def server_command(install: TritonInstall, settings: LabSettings, backends: Path) -> list[str]:
    repositories = sorted(p for p in settings.repos.iterdir() if p.is_dir())
    return [
        str(install.binary),
        *(f"--model-repository={repo}" for repo in repositories),
        f"--backend-directory={backends}",
        f"--http-address={settings.host}",
        f"--http-port={settings.http_port}",
        f"--grpc-address={settings.host}",
        f"--grpc-port={settings.grpc_port}",
        f"--metrics-address={settings.host}",
        f"--metrics-port={settings.metrics_port}",
        "--metrics-config=histogram_latencies=true",
        f"--backend-config=python,shm-region-prefix-name={settings.shm_prefix}",
        "--allow-metrics=true",
        "--log-verbose=0",
        # Every model at start, as by default, but each can be unloaded and loaded again on its
        # own (POST /v2/repository/models/NAME/unload|load): one target can fail alone.
        "--model-control-mode=explicit",
        "--load-model=*",
    ]
