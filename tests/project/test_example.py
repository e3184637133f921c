"""The demo's projection of the example deployment (Llama-3 70B FP8, TP4, H100): made in the
projection environment and carried into the report and the advice; without the environment or
the example spec, one line says why and nothing is written. (The demo itself, with the lab, is
tests/lab/test_demo.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.advise.render import render_markdown
from crossfade.demo import advise_on_example_facts
from crossfade.project.example import EXAMPLE_SPEC_PATH, EXAMPLE_WORKLOAD, project_example
from crossfade.project.model import PROJECTION_FILE, load_projection
from crossfade.report import load_report, render_html
from tests.support.paths import ROOT

pytestmark = pytest.mark.servers  # they start the projection environment's worker process


def test_the_example_spec_is_the_checkouts() -> None:
    assert EXAMPLE_SPEC_PATH == ROOT / "examples" / "llama-3-70b-fp8-tp4.yaml"
    assert EXAMPLE_SPEC_PATH.is_file()


def test_without_the_projection_environment_it_says_so_and_writes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no-venv" / "bin" / "python"
    example = project_example(tmp_path / "demo", python=missing)
    assert (example.path, example.projection) == (None, None)
    assert example.note.startswith(
        f"no projection (the projection environment is missing: no {missing}"
    )
    assert "`scripts/setup --projection`" in example.note
    assert "`crossfade project " in example.note
    assert "--concurrency 1,4,16,32,64`" in example.note
    assert example.note.endswith("going on without it")
    assert not (tmp_path / "demo").exists()


def test_without_the_example_spec_it_says_so(tmp_path: Path) -> None:
    example = project_example(tmp_path, spec_path=tmp_path / "gone.yaml", python=Path(__file__))
    assert example.path is None
    assert f"the example spec {tmp_path / 'gone.yaml'} is not here" in example.note


def test_the_example_projection_reaches_the_report_and_the_advice(tmp_path: Path) -> None:
    """In the projection environment (a subprocess of a few seconds)."""
    example = project_example(tmp_path)
    assert example.path == tmp_path / PROJECTION_FILE, example.note
    assert example.projection == load_projection(tmp_path)
    inputs = example.projection.inputs
    assert (inputs.model, inputs.system, inputs.quantization) == (
        "llama-3-70b-instruct", "h100_sxm", "fp8",
    )  # fmt: skip
    assert (inputs.input_len, inputs.output_len) == (1024, 256)
    assert inputs.concurrency == EXAMPLE_WORKLOAD.concurrency
    assert {b.tensor_parallel for b in example.projection.backends} == {4}
    html = render_html(load_report([example.path]))
    assert "TensorRT-LLM (projected): llama-3-70b-instruct, 4x H100" in html
    assert "vLLM (projected): llama-3-70b-instruct, 4x H100" in html
    # No measurement of real backends: the projection is the advice's evidence, and counts.
    advice = advise_on_example_facts(tmp_path, tmp_path / "model", [], example)
    assert advice.projection is not None
    assert advice.projection.counts
    assert advice.projection.concurrency == 16
    markdown = render_markdown(advice)
    assert f"`projection:{example.path}: projected at concurrency 16`" in markdown
    assert "## Projection (AIConfigurator; projected, not measured)" in markdown
