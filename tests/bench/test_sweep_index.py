"""sweep.json read back: a run it indexes must be of a target and a level it lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossfade.bench.plan import StopReason
from crossfade.bench.sweep_index import SWEEP_FILE, SweepError, load_sweep
from crossfade.report.data import load_report
from tests.report.saved import save_sweep_folder
from tests.support.older import A613DB6


@pytest.mark.parametrize(
    ("field", "value", "listed"),
    [
        ("target", "ghost", "target 'ghost' at level 1"),
        ("level", 3.0, "target 'tensorrtllm-ensemble' at level 3,"),
    ],
)
def test_a_run_of_an_unlisted_target_or_level_is_refused_by_every_reader(
    tmp_path: Path, field: str, value: object, listed: str
) -> None:
    folder = save_sweep_folder(tmp_path)
    index = json.loads((folder / SWEEP_FILE).read_text())
    index["runs"][0][field] = value
    (folder / SWEEP_FILE).write_text(json.dumps(index))
    expected = f"run runs/run-000 is for {listed}.*which the sweep does not list"
    with pytest.raises(SweepError, match=f"^{folder / SWEEP_FILE}: {expected}"):
        load_sweep(folder)
    with pytest.raises(
        SweepError, match=expected
    ):  # the report looked the target up: StopIteration
        load_report([folder])


def test_the_sweep_json_of_a613db6_reads_back() -> None:
    """sweep.json as crossfade a613db6 wrote it (tests/support/saved): the same schema."""
    index = load_sweep(A613DB6 / "sweep")
    assert [t.name for t in index.targets] == ["a", "b"]
    assert [(r.target, r.level, r.stop_reason) for r in index.runs][:2] == [
        ("a", 1.0, StopReason.COMPLETED),
        ("b", 1.0, StopReason.COMPLETED),
    ]
    assert index.stop_reason == "completed"
