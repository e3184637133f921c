"""projection.json: written and read back through crossfade.saved, versioned, closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from crossfade.project.model import (
    PROJECTION_FILE,
    ProjectedPoint,
    Projection,
    ProjectionError,
    load_projection,
    save_projection,
)
from tests.project.projections import backend
from tests.project.projections import projection as make_projection


def projection() -> Projection:
    return make_projection({1: 100, 8: 150, 32: None}, {1: 110, 8: 140, 32: 160}, gpus=4)


def test_a_projection_reads_back_as_it_was_written(tmp_path: Path) -> None:
    written = projection()
    path = save_projection(tmp_path, written)
    assert path == tmp_path / PROJECTION_FILE
    assert load_projection(tmp_path) == written
    assert load_projection(path) == written
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1
    assert data["backends"][0]["points"][2]["failure"] == "OOM: too big"


def test_another_schema_version_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = save_projection(tmp_path, projection())
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "schema_version": 2}))
    with pytest.raises(ProjectionError, match=r"schema_version 2; this crossfade reads 1 "
                       r"\(project it again with `crossfade project`\)"):  # fmt: skip
        load_projection(tmp_path)


def test_an_unknown_key_is_refused_naming_it(tmp_path: Path) -> None:
    path = save_projection(tmp_path, projection())
    data = json.loads(path.read_text())
    data["inputs"]["tp"] = 4
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectionError, match=r"inputs.tp: Extra inputs are not permitted"):
        load_projection(tmp_path)


def test_a_missing_projection_says_what_writes_one(tmp_path: Path) -> None:
    with pytest.raises(ProjectionError, match=r"no projection here \(written by `crossfade"):
        load_projection(tmp_path)


def test_a_point_has_figures_or_a_failure_never_both_nor_neither() -> None:
    good = backend("vllm", {1: 100}).points[0]
    assert good.figures is not None
    with pytest.raises(ValidationError, match="either figures or a failure"):
        ProjectedPoint(concurrency=1, figures=good.figures, failure="OOM")
    with pytest.raises(ValidationError, match="either figures or a failure"):
        ProjectedPoint(concurrency=1, figures=None)


def test_a_backend_is_labelled_projected_and_counts_its_gpus() -> None:
    trt = projection().backends[0]
    assert trt.label == "TensorRT-LLM (projected)"
    assert trt.gpus == 4
    assert trt.point(8) is not None
    assert trt.point(2) is None
