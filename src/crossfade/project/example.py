"""The projection the demo adds: the example deployment (Llama-3 70B FP8, tensor parallel 4, on
H100s; examples/llama-3-70b-fp8-tp4.yaml in the checkout, its config.json shipped) at the
load where the seed article places the backends' gap, so the demo answers the article's
question with numbers, projected. Anything that stops it (no projection environment, no
checkout) is said in one line and the demo goes on without it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from crossfade.errors import CrossfadeError
from crossfade.project.environment import projection_python
from crossfade.project.hf_config import read_hf_config
from crossfade.project.inputs import Workload, plan_projection
from crossfade.project.model import Projection, save_projection
from crossfade.project.projection import project
from crossfade.spec.load import load_spec

# src/crossfade/project/example.py -> the checkout's examples/ (scripts/setup installs editable)
EXAMPLE_SPEC_PATH = Path(__file__).resolve().parents[3] / "examples" / "llama-3-70b-fp8-tp4.yaml"
# 1024 tokens in and 256 out; 16 is the demo's example load, 32 and more where the article
# places TensorRT-LLM's lead.
EXAMPLE_WORKLOAD = Workload(input_len=1024, output_len=256, concurrency=[1, 4, 16, 32, 64])


@dataclass(frozen=True)
class ExampleProjection:
    path: Path | None  # projection.json; None: not made
    projection: Projection | None
    note: str  # what was projected, or why not
    seconds: float


def command(spec: Path = EXAMPLE_SPEC_PATH, workload: Workload = EXAMPLE_WORKLOAD) -> str:
    levels = ",".join(map(str, workload.concurrency))
    return (
        f"crossfade project {spec} --input-len {workload.input_len} "
        f"--output-len {workload.output_len} --concurrency {levels}"
    )


def project_example(
    folder: Path,
    spec_path: Path = EXAMPLE_SPEC_PATH,
    workload: Workload = EXAMPLE_WORKLOAD,
    python: Path | None = None,
) -> ExampleProjection:
    """Project the example deployment into folder/projection.json, or say why not."""
    started = time.monotonic()
    python = projection_python() if python is None else python

    def without(why: str) -> ExampleProjection:
        note = f"no projection ({why}); going on without it"
        return ExampleProjection(None, None, note, time.monotonic() - started)

    if not python.is_file():
        return without(
            f"the projection environment is missing: no {python}; `scripts/setup --projection` "
            f"makes it, then `{command(spec_path, workload)}`"
        )
    if not spec_path.is_file():
        return without(f"the example spec {spec_path} is not here (it ships in the checkout)")
    try:
        spec = load_spec(str(spec_path))
        hf_config = read_hf_config(None, spec, "--model-config")
        projection = project(plan_projection(spec, str(spec_path), hf_config, workload), python)
    except CrossfadeError as error:
        return without(str(error))
    path = save_projection(folder, projection)
    seconds = time.monotonic() - started
    inputs = projection.inputs
    note = (
        f"projected {inputs.model} ({inputs.quantization}) on {inputs.gpu} for both backends "
        f"at concurrency {','.join(map(str, inputs.concurrency))}, {inputs.input_len} tokens "
        f"in and {inputs.output_len} out, in {seconds:.1f} s: {path}"
    )
    return ExampleProjection(path, projection, note, seconds)
