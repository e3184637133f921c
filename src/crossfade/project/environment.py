"""The projection environment: its own virtualenv (.venv-projection beside crossfade's .venv,
made by `scripts/setup --projection`), because AIConfigurator needs numpy >= 2.1 and the lab's
Triton stub numpy < 2. crossfade runs the worker there as one subprocess per projection, every
point in it: JSON in on stdin, JSON out on stdout, bounded in time (docs/projection.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from crossfade.project.contract import WorkerReply, WorkerRequest
from crossfade.project.model import ProjectionError
from crossfade.saved import first_problem

PYTHON_VARIABLE = "CROSSFADE_PROJECTION_PYTHON"
WORKER_MODULE = "crossfade.project.worker"
# Imports and a database per backend take a few seconds; each point takes about one.
TIMEOUT_BASE_S = 120.0
TIMEOUT_PER_POINT_S = 15.0
STDERR_TAIL = 2000  # characters of the worker's stderr quoted when it fails


def projection_python(environ: Mapping[str, str] | None = None) -> Path:
    """$CROSSFADE_PROJECTION_PYTHON, else .venv-projection's python beside this environment
    (a checkout's .venv and .venv-projection, as scripts/setup makes them)."""
    environ = os.environ if environ is None else environ
    given = environ.get(PYTHON_VARIABLE)
    if given:
        return Path(given)
    return Path(sys.prefix).with_name(".venv-projection") / "bin" / "python"


@contextmanager
def model_folder(config_text: str) -> Iterator[str]:
    """A folder holding the model's config.json alone (the library reads a folder, and anything
    else beside a user's config, such as a quantization file, must not change the projection)."""
    with tempfile.TemporaryDirectory(prefix="crossfade-projection-") as folder:
        (Path(folder) / "config.json").write_text(config_text, encoding="utf-8")
        yield folder


def run_worker(request: WorkerRequest, python: Path) -> WorkerReply:
    """Run the worker on `request` in the projection environment and return its reply."""
    if not python.is_file():
        raise ProjectionError(
            f"no projection environment at {python}: run `scripts/setup --projection` in the "
            f"crossfade checkout, or set {PYTHON_VARIABLE} to a Python that has crossfade and "
            "its projection extra (aiconfigurator)"
        )
    points = len(request.concurrency) * len(request.backends)
    timeout = TIMEOUT_BASE_S + TIMEOUT_PER_POINT_S * points
    try:
        done = subprocess.run(
            [str(python), "-m", WORKER_MODULE],
            input=request.model_dump_json(),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_worker_environment(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProjectionError(
            f"the projection did not finish in {timeout:.0f} s ({points} points); give fewer "
            "--concurrency levels"
        ) from None
    except OSError as exc:
        raise ProjectionError(f"cannot run the projection environment {python}: {exc}") from None
    if done.returncode != 0:
        raise ProjectionError(
            f"the projection worker failed (exit {done.returncode}); its last words:\n"
            + done.stderr[-STDERR_TAIL:].strip()
        )
    try:
        return WorkerReply.model_validate_json(done.stdout)
    except ValidationError as exc:
        raise ProjectionError(
            f"the projection worker's reply is not what this crossfade reads "
            f"({first_problem(exc)}); run `scripts/setup --projection` so both run the same "
            "crossfade"
        ) from None


def _worker_environment() -> dict[str, str]:
    # No hub: the model's config.json is on disk, and nothing else is fetched.
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
