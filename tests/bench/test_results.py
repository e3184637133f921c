"""Result folders: round trip, and clear errors for what cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.results import (
    BenchResult,
    ResultError,
    load_records,
    load_result,
    save_result,
)


def result() -> BenchResult:
    return BenchResult(
        name="t", target={"url": "openai://h:1/v1?model=m"}, emulated=False, config={},
        environment={}, run={"stop_reason": "completed"}, summary={"completed": 1},
    )  # fmt: skip


def test_round_trip(tmp_path: Path) -> None:
    record = RequestRecord(3, 10, 8, scheduled_ns=5, sent_ns=6, chunk_ns=[9], chunk_tokens=[8])
    failed = RequestRecord(4, 10, 8, scheduled_ns=7)
    failed.fail(ErrorKind.CONNECT, "refused", 12)
    save_result(tmp_path, result(), [record, failed])
    assert load_result(tmp_path) == result()
    assert load_records(tmp_path) == [record, failed]


def test_unreadable_results_name_the_file_and_problem(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match="no such result"):
        load_result(tmp_path)
    (tmp_path / "result.json").write_text("{")
    with pytest.raises(ResultError, match=r"result.json:1: not valid JSON"):
        load_result(tmp_path)
    data = result().model_dump() | {"schema_version": 99}
    (tmp_path / "result.json").write_text(json.dumps(data))
    with pytest.raises(ResultError, match="schema_version 99"):
        load_result(tmp_path)
    data = result().model_dump() | {"surprise": 1}
    (tmp_path / "result.json").write_text(json.dumps(data))
    with pytest.raises(ResultError, match="surprise"):
        load_result(tmp_path)
    (tmp_path / "requests.jsonl").write_text('{"index": 1}\nnot json\n')
    with pytest.raises(ResultError, match=r"requests.jsonl:1"):
        load_records(tmp_path)


@pytest.mark.parametrize(
    ("section", "edit", "field"),
    [
        ("config", {"slos": [None]}, "config.slos.0"),
        ("config", {"slos": None}, "config.slos"),
        ("config", {"workload": ["not", "a", "mapping"]}, "config.workload"),
        ("run", {"measure_start_ns": "0"}, "run.measure_start_ns"),
        ("target", {"url": 7}, "target.url"),
    ],
)
def test_the_parts_compare_and_report_read_are_checked_on_load(
    tmp_path: Path, section: str, edit: dict[str, object], field: str
) -> None:
    data = result().model_dump()
    data[section] = {**data[section], "anything_else": [1]}
    (tmp_path / "result.json").write_text(json.dumps(data))
    assert load_result(tmp_path).model_dump()[section]["anything_else"] == [1]  # kept as written
    data[section] |= edit
    (tmp_path / "result.json").write_text(json.dumps(data))
    with pytest.raises(ResultError, match=rf"result.json: {field}: Input should be"):
        load_result(tmp_path)
