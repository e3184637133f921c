"""Calibration: the analysis on hand-made records and server-log entries whose figures can be
worked out on paper, and one real `crossfade calibrate` against the ground-truth server."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from crossfade.bench.calibration import (
    LogEntry,
    clean_limit,
    default_path,
    join,
    level_figures,
    load_calibration,
    overhead,
    parse_log,
    save_calibration,
    stats_ms,
    token_times,
)
from crossfade.bench.calibration_model import (
    GroundTruthSettings,
    LevelFigures,
    StatsMs,
    Thresholds,
)
from crossfade.bench.groundtruth import prompt_key
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.cli import main
from tests.support.results import calibration

MS = 1_000_000


def record(
    index: int, sent: int, chunks: Sequence[tuple[int, int]], error: ErrorKind | None = None
) -> RequestRecord:
    """A finished record from (arrival ns, tokens) chunks; it ends with its last chunk."""
    return RequestRecord(
        index=index,
        prompt_tokens=2,
        requested_output_tokens=sum(k for _, k in chunks),
        scheduled_ns=sent,
        sent_ns=sent,
        chunk_ns=[at for at, _ in chunks],
        chunk_tokens=[k for _, k in chunks],
        end_ns=chunks[-1][0] if chunks else sent,
        error_kind=error,
    )


def entry(prompt: str, received: int, writes: Sequence[int]) -> LogEntry:
    return LogEntry(prompt_key(prompt), received, tuple(writes))


# Request 0: sent at 0, received 0.5 ms later; the server wrote at 50.5, 60.5, 70.5 ms and the
# client read the tokens at 51.3, 61.1, 71.9 ms. Request 1: sent at 100 ms, received 1 ms later,
# written at 151, 161, 171 ms, read at 153, 163, 173 ms.
PROMPTS = {0: "calibration 2 0", 1: "calibration 2 1"}
RECORDS = [
    record(0, 0, [(51_300_000, 1), (61_100_000, 1), (71_900_000, 1)]),
    record(1, 100 * MS, [(153 * MS, 1), (163 * MS, 1), (173 * MS, 1)]),
]
ENTRIES = [
    entry(PROMPTS[1], 101 * MS, [151 * MS, 161 * MS, 171 * MS]),
    entry(PROMPTS[0], 500_000, [50_500_000, 60_500_000, 70_500_000]),
]


def test_overhead_splits_added_ttft_into_send_and_receive_sides() -> None:
    result = overhead(RECORDS[0].sent_ns, token_times(RECORDS[0]), ENTRIES[1])
    assert result.send_ns == 500_000
    assert result.receive_ns == 800_000
    assert result.added_ttft_ns == 1_300_000
    # client gaps 9.8 and 10.8 ms against the server's 10 and 10 ms
    assert result.itl_error_ns == (200_000, 800_000)


def test_overhead_compares_only_the_tokens_both_sides_have() -> None:
    result = overhead(0, [10 * MS, 21 * MS], entry("p", 0, [10 * MS, 20 * MS, 30 * MS]))
    assert result.itl_error_ns == (MS,)
    with pytest.raises(ValueError, match="no token"):
        overhead(0, [], entry("p", 0, [10 * MS]))


def test_a_chunk_of_several_tokens_gives_each_token_its_arrival_time() -> None:
    assert token_times(record(0, 0, [(5, 1), (9, 3), (12, 0)])) == [5, 9, 9, 9]
    with_batched = record(0, 0, [(10 * MS, 1), (30 * MS, 2)])
    result = overhead(0, token_times(with_batched), entry("p", 0, [10 * MS, 20 * MS, 30 * MS]))
    assert result.itl_error_ns == (10 * MS, 10 * MS)  # 20 vs 10 ms, then 0 vs 10 ms


def test_parse_log_reads_the_server_format() -> None:
    text = "".join(
        json.dumps({"key": e.key, "received_ns": e.received_ns, "sent_ns": list(e.sent_ns)}) + "\n"
        for e in ENTRIES
    )
    assert parse_log(text + "\n") == ENTRIES


def test_join_pairs_by_prompt_and_reports_what_is_missing() -> None:
    stray = record(7, 200 * MS, [(250 * MS, 1)])
    pairs, unmatched = join([*RECORDS, stray], {**PROMPTS, 7: "never logged"}, ENTRIES)
    assert [(r.index, e.received_ns) for r, e in pairs] == [(0, 500_000), (1, 101 * MS)]
    assert unmatched == [stray]


def test_join_pairs_a_repeated_prompt_with_the_entry_nearest_each_send() -> None:
    first, second = record(0, 0, [(50 * MS, 1)]), record(0, 500 * MS, [(550 * MS, 1)])
    late, early = entry("same", 501 * MS, [550 * MS]), entry("same", MS, [50 * MS])
    pairs, unmatched = join([second, first], {0: "same"}, [late, early])
    assert [(r.sent_ns, e.received_ns) for r, e in pairs] == [(0, MS), (500 * MS, 501 * MS)]
    assert unmatched == []


def test_level_figures_from_known_numbers() -> None:
    pairs, _ = join(RECORDS, PROMPTS, ENTRIES)
    figures = level_figures(2, pairs, 0, Thresholds(added_ttft_p99_ms=5.0, itl_error_p99_ms=2.0))
    assert figures.joined == figures.requests == 2
    assert figures.chunks == 6
    assert figures.chunk_rate_per_s == pytest.approx(6 / 0.173)  # 6 chunks in 0..173 ms
    assert figures.added_ttft_ms.mean == pytest.approx((1.3 + 3.0) / 2)
    assert figures.added_ttft_ms.min == pytest.approx(1.3)
    assert figures.send_ms.max == pytest.approx(1.0)
    assert figures.receive_ms.max == pytest.approx(2.0)
    assert figures.itl_error_ms.mean == pytest.approx(0.25)  # 0.2, 0.8, 0, 0
    assert figures.clean is True


@pytest.mark.parametrize(
    ("thresholds", "unmatched", "error"),
    [
        (Thresholds(added_ttft_p99_ms=2.0), 0, None),  # added TTFT p99 is about 2.97 ms
        (Thresholds(itl_error_p99_ms=0.5), 0, None),  # ITL error p99 is about 0.78 ms
        (Thresholds(), 1, None),  # a record the server never logged
        (Thresholds(), 0, ErrorKind.TRUNCATED),  # a failed request
    ],
)
def test_a_level_is_not_clean_past_a_threshold_or_with_lost_requests(
    thresholds: Thresholds, unmatched: int, error: ErrorKind | None
) -> None:
    records = [*RECORDS[:1], record(1, RECORDS[1].sent_ns, [(153 * MS, 1)], error)]
    records[1].chunk_ns, records[1].chunk_tokens = list(RECORDS[1].chunk_ns), [1, 1, 1]
    pairs, _ = join(records, PROMPTS, ENTRIES)
    assert level_figures(2, pairs, unmatched, thresholds).clean is False


def test_clean_limit_is_the_highest_clean_level() -> None:
    levels = [level(1, True, 90.0), level(64, True, 5000.0), level(16, False, 1400.0)]
    assert clean_limit(levels) == (64, 5000.0)
    assert clean_limit([lv.model_copy(update={"clean": False}) for lv in levels]) == (None, None)


def level(concurrency: int, clean: bool, rate: float) -> LevelFigures:
    none = stats_ms([])
    return LevelFigures(
        concurrency=concurrency,
        requests=1,
        joined=1,
        failed=0,
        chunks=1,
        chunk_rate_per_s=rate,
        added_ttft_ms=none,
        send_ms=none,
        receive_ms=none,
        itl_error_ms=none,
        clean=clean,
    )


def test_stats_of_nothing_are_none() -> None:
    assert stats_ms([]) == StatsMs(mean=None, min=None, p50=None, p99=None, max=None)
    assert stats_ms([MS, 3 * MS]).p50 == pytest.approx(2.0)


def test_the_file_goes_to_the_xdg_cache_and_loads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_path() == tmp_path / "crossfade" / "calibration.json"
    assert load_calibration() is None
    saved = calibration([level(1, True, 90.0)])
    save_calibration(saved)
    assert load_calibration() == saved
    default_path().write_text('{"format": "crossfade-calibration", "levels": []}')
    assert load_calibration() is None  # not a whole calibration
    default_path().write_text('{"format": "something else"}', encoding="utf-8")
    assert load_calibration() is None
    default_path().write_text("not json", encoding="utf-8")
    assert load_calibration() is None
    default_path().write_text("[" * 100_000, encoding="utf-8")
    assert load_calibration() is None


@pytest.mark.servers
def test_calibrate_against_the_real_ground_truth_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "calibration.json"
    argv = ["calibrate", "--levels", "1,4", "--tokens", "8", "--requests-per-level", "8"]
    assert main([*argv, "--ttft-ms", "20", "--itl-ms", "5", "-o", str(output)]) == 0
    assert f"saved {output}" in capsys.readouterr().out
    data = load_calibration(output)
    assert data is not None
    assert data.server == GroundTruthSettings(ttft_ms=20.0, itl_ms=5.0, tokens=8)
    assert data.machine.cpu_count >= 1
    assert data.machine.event_loop == "uvloop"  # the loop bench and its workers run on
    # 8 requests each; the first round (1 request, then 4) is warm-up
    assert [(lv.concurrency, lv.requests) for lv in data.levels] == [(1, 7), (4, 4)]
    for level in data.levels:
        assert level.joined == level.requests
        assert level.failed == 0
        assert level.chunks == 8 * level.requests
        assert 0 <= level.added_ttft_ms.min <= level.added_ttft_ms.mean
        assert level.added_ttft_ms.p99 < 50
        assert level.send_ms.min >= 0
        assert level.receive_ms.min >= 0
        assert 0 <= level.itl_error_ms.mean < 5
        assert level.chunk_rate_per_s > 0
