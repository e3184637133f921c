"""sweep.json read back: a run it indexes must be of a target and a level it lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossfade.bench.sweep_index import SWEEP_FILE, SweepError, load_sweep
from crossfade.report.data import load_report
from tests.report.saved import save_sweep_folder


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
