"""Result folders: round trip, every part typed and closed, schema 1 read back, and clear errors
for what cannot be read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crossfade.bench.plan import LoadPlan, StopReason
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.result_model import OpenAIServerInfo
from crossfade.bench.results import (
    SCHEMA_VERSION,
    BenchResult,
    ResultError,
    load_records,
    load_result,
    save_result,
    upgrade_v1,
    upgrade_v2,
)
from crossfade.bench.summary import summarize
from tests.support.older import A613DB6
from tests.support.results import bench_result


def records() -> list[RequestRecord]:
    record = RequestRecord(3, 10, 8, scheduled_ns=5, sent_ns=6, chunk_ns=[9], chunk_tokens=[8])
    record.end_ns = 10
    failed = RequestRecord(4, 10, 8, scheduled_ns=7)
    failed.fail(ErrorKind.CONNECT, "refused", 12)
    return [record, failed]


def result() -> BenchResult:
    summary = summarize(records(), 5, 12)
    plan = LoadPlan(concurrency=1, requests=2)
    return bench_result("t", plan, summary, start_ns=5, records=2, url="openai://h:1/v1?model=m")


def saved(tmp_path: Path, data: dict[str, Any]) -> Path:
    (tmp_path / "result.json").write_text(json.dumps(data), encoding="utf-8")
    return tmp_path


def test_round_trip(tmp_path: Path) -> None:
    save_result(tmp_path, result(), records())
    assert load_result(tmp_path) == result()
    assert load_records(tmp_path) == records()
    assert json.loads((tmp_path / "result.json").read_text())["schema_version"] == 3


def test_unreadable_results_name_the_file_and_problem(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match="no such result"):
        load_result(tmp_path)
    (tmp_path / "result.json").write_text("{")
    with pytest.raises(ResultError, match=r"result.json:1: not valid JSON"):
        load_result(tmp_path)
    data = result().model_dump(mode="json") | {"schema_version": 99}
    with pytest.raises(ResultError, match="schema_version 99; this crossfade reads 3, 2 or 1"):
        load_result(saved(tmp_path, data))
    data = result().model_dump(mode="json") | {"surprise": 1}
    with pytest.raises(ResultError, match="surprise"):
        load_result(saved(tmp_path, data))
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
        ("run", {"stop_reason": "finished"}, "run.stop_reason"),
        ("target", {"url": 7}, "target.url"),
        ("summary", {"completed": "1"}, "summary.completed"),  # no "7" for 7
        ("summary", {"completed": 1.0}, "summary.completed"),  # nor 7.0
        ("summary", {"failures": {"connect": None}}, "summary.failures.connect"),
        ("environment", {"cpu_count": "2"}, "environment.cpu_count"),
    ],
)
def test_a_mistyped_field_is_refused_by_name(
    tmp_path: Path, section: str, edit: dict[str, object], field: str
) -> None:
    data = result().model_dump(mode="json")
    data[section] |= edit
    with pytest.raises(ResultError, match=rf"result.json: {field}: Input should be"):
        load_result(saved(tmp_path, data))


@pytest.mark.parametrize(
    "where",
    [
        ("summary",),
        ("summary", "distributions", "ttft_ns"),
        ("summary", "output_length"),
        ("config",),
        ("config", "plan"),
        ("config", "workload"),
        ("run",),
        ("target",),
        ("target", "server"),
        ("environment",),
    ],
)
def test_an_unknown_field_is_refused_in_every_part(tmp_path: Path, where: tuple[str, ...]) -> None:
    data = result().model_dump(mode="json")
    part = data
    for key in where:
        part = part[key]
    part["completd"] = 1
    # The server's description is one of a union: its protocol names the member.
    field = ".".join(where).replace("server", "server.openai") + ".completd"
    with pytest.raises(ResultError, match=rf"{field}: Extra inputs are not permitted"):
        load_result(saved(tmp_path, data))


def test_schema_2_has_no_defaults_for_what_schema_1_left_out(tmp_path: Path) -> None:
    """What early schema-1 files lacked is filled in by the upgrade only, never in schema 2."""
    for section, key in (("config", "workers"), ("run", "wall_minus_monotonic_ns")):
        data = result().model_dump(mode="json")
        del data[section][key]
        with pytest.raises(ResultError, match=rf"{section}.{key}: Field required"):
            load_result(saved(tmp_path, data))


# --- schema 1 ----------------------------------------------------------------------------------


def test_a_schema_1_result_of_a613db6_reads_back(tmp_path: Path) -> None:
    result = load_result(A613DB6 / "run")
    assert result.schema_version == SCHEMA_VERSION
    assert isinstance(result.target.server, OpenAIServerInfo)
    assert result.target.server.served_models == ["gt"]
    assert result.config.plan == LoadPlan(concurrency=2, requests=10, warmup_requests=2)
    assert result.config.slos == ["ttft:p99<2s"]
    assert result.config.workload.count == 12
    assert result.run.stop_reason is StopReason.COMPLETED
    assert (result.run.records, result.run.measured_records) == (10, 8)
    assert result.summary.completed == 8
    assert result.summary.goodput is not None
    assert result.server_metrics is not None
    assert result.server_metrics.requests_ok == 6.0
    assert result.server_metrics.kv_cache_use[-1][1] == pytest.approx(0.2)
    assert result.client_overhead is not None
    assert [level.concurrency for level in result.client_overhead.levels] == [1, 2]
    assert result.environment.host == "fixture-host"
    # Written again, it is schema 2 and reads back the same.
    save_result(tmp_path, result, load_records(A613DB6 / "run"))
    assert load_result(tmp_path) == result


def test_a_schema_1_merged_result_and_its_shards_read_back() -> None:
    merged = load_result(A613DB6 / "merged")
    assert merged.config.shards is not None
    assert merged.config.shards.merged == [0, 1]
    assert merged.config.shard is None
    assert merged.config.workers == 2
    assert [shard.host for shard in merged.run.shards or []] == ["fixture-host"] * 2
    assert "shard_hosts" not in merged.environment.model_dump()  # each shard's host: run.shards
    for index in (0, 1):
        shard = load_result(A613DB6 / "shards" / str(index)).config.shard
        assert shard is not None
        assert (shard.index, shard.count) == (index, 2)
        assert shard.plan == LoadPlan(concurrency=4, requests=12)
    run = load_result(A613DB6 / "sweep" / "runs" / "a" / "c2-r0")
    assert run.config.sweep is not None
    assert (run.config.sweep.level, run.config.sweep.repeat) == (2.0, 0)


def test_the_upgrade_fills_what_early_schema_1_writers_left_out() -> None:
    data = json.loads((A613DB6 / "run" / "result.json").read_text())
    del data["config"]["workers"], data["run"]["wall_minus_monotonic_ns"]
    data["summary"]["failures"] |= {"timeout": 1, "connect": 2}
    del data["summary"]["errors"]  # saved before the summary kept messages
    upgraded = upgrade_v1(data)
    assert upgraded["schema_version"] == 2
    assert upgraded["config"]["workers"] == 1
    assert upgraded["run"]["wall_minus_monotonic_ns"] is None
    assert upgraded["summary"]["errors"] == [
        {"kind": "connect", "count": 2, "messages": []},
        {"kind": "timeout", "count": 1, "messages": []},
    ]
    assert data["schema_version"] == 1  # pure: what it was given is left as it was
    upgraded = upgrade_v2(upgraded)
    assert BenchResult.model_validate_json(json.dumps(upgraded), strict=True).run.records == 10


def test_a_schema_1_file_with_what_schema_2_has_no_place_for_is_refused(tmp_path: Path) -> None:
    data = json.loads((A613DB6 / "run" / "result.json").read_text())
    data["config"]["anything_else"] = [1]  # schema 1 kept it; schema 2 has no field for it
    with pytest.raises(ResultError, match=r"config.anything_else: Extra inputs are not permitted"):
        load_result(saved(tmp_path, data))


# --- schema 2 ----------------------------------------------------------------------------------


def test_a_schema_2_result_reads_back_with_forced_server_counted_lengths(tmp_path: Path) -> None:
    data = result().model_dump(mode="json") | {"schema_version": 2}
    length = data["summary"]["output_length"]
    for key in ("forced", "counted", "requested_mean", "received_mean"):
        del length[key]  # schema 2 had the three counts alone
    loaded = load_result(saved(tmp_path, data))
    assert loaded.schema_version == SCHEMA_VERSION
    check = loaded.summary.output_length
    assert (check.unverifiable, check.forced, check.counted) == (1, True, 0)
    assert (check.requested_mean, check.received_mean) == (None, None)
    assert length == {"verified": 0, "mismatched": 0, "unverifiable": 1}  # pure


def test_schema_3_has_no_defaults_for_the_length_facts(tmp_path: Path) -> None:
    data = result().model_dump(mode="json")
    del data["summary"]["output_length"]["forced"]
    with pytest.raises(ResultError, match=r"summary.output_length.forced: Field required"):
        load_result(saved(tmp_path, data))
