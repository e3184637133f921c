"""The sweep: its order and per-level plans (pure), and real sweeps over two ground-truth
servers of known, different timing (their own processes, real sockets)."""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crossfade.bench.metrics import ttft_ns
from crossfade.bench.plan import LoadPlan
from crossfade.bench.protocol import BenchRequest
from crossfade.bench.result_model import SweepSlot
from crossfade.bench.results import BenchResult, load_records, load_result
from crossfade.bench.runner import OnRecord
from crossfade.bench.session import BenchConfig
from crossfade.bench.summary import summarize
from crossfade.bench.sweep import (
    REQUESTS_PER_SLOT,
    FinishedRun,
    PlannedRun,
    level_plan,
    parse_levels,
    plan_sweep,
    run_sweep,
    target_folders,
)
from crossfade.bench.sweep_index import SweepIndex, load_sweep
from crossfade.bench.targets import TargetSpec, parse_target
from crossfade.bench.workload import Workload
from crossfade.errors import UsageError
from crossfade.lab.processes import stop
from tests.support.groundtruth import GroundTruth, start_groundtruth
from tests.support.ports import free_port
from tests.support.results import bench_result

TTFT_MS = {"fast": 20.0, "slow": 40.0}


def workload(count: int = 16, tokens: int = 8) -> Workload:
    requests = tuple(BenchRequest(i, f"prompt {i}", 2, tokens) for i in range(count))
    return Workload(
        source="test", seed=0, tokenizer="none", tokenizer_fingerprint="none", requests=requests
    )


@dataclass
class Recorder:
    """Progress that remembers what the sweep said, and can interrupt it at a chosen run."""

    folder: Path
    interrupt: asyncio.Event | None = None
    interrupt_at: int | None = None  # order of the run to interrupt at its first record
    stop_after: int | None = None  # order of the run after which to interrupt
    started: list[PlannedRun] = field(default_factory=list)
    finished: list[FinishedRun] = field(default_factory=list)
    indexed: list[int] = field(default_factory=list)  # runs in sweep.json as each run ended

    def run_started(self, run: PlannedRun, plan: LoadPlan) -> OnRecord | None:
        self.started.append(run)
        if run.order != self.interrupt_at or self.interrupt is None:
            return None
        interrupt = self.interrupt
        return lambda record: interrupt.set()

    def run_finished(self, finished: FinishedRun) -> None:
        self.finished.append(finished)
        self.indexed.append(len(load_sweep(self.folder).runs))
        if finished.run.order == self.stop_after and self.interrupt is not None:
            self.interrupt.set()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, GroundTruth]]:
    """Two servers that differ only in TTFT (the same 5 ms ITL)."""
    started: dict[str, GroundTruth] = {}
    try:
        for name, ttft in TTFT_MS.items():
            folder = tmp_path_factory.mktemp(name)
            started[name] = start_groundtruth(folder, free_port(), ttft_ms=ttft, itl_ms=5.0)
        yield started
    finally:
        for server in started.values():
            stop(server.process, grace_s=5)


def targets(servers: dict[str, GroundTruth]) -> list[TargetSpec]:
    return [parse_target(server.target, name) for name, server in servers.items()]


# --- the order and the plans -----------------------------------------------------------------


def test_plan_rotates_so_every_target_takes_every_position_at_every_level() -> None:
    names, levels = ["a", "b", "c"], [1.0, 2.0, 4.0]
    runs = plan_sweep(names, levels, 3)
    assert [r.order for r in runs] == list(range(len(names) * len(levels) * 3))
    assert Counter((r.target, r.level, r.repeat) for r in runs) == Counter(
        {(t, level, rep): 1 for t in names for level in levels for rep in range(3)}
    )
    positions: Counter[tuple[str, float, int]] = Counter()
    for rep in range(3):
        mine = [r for r in runs if r.repeat == rep]
        assert mine == sorted(mine, key=lambda r: r.order), "repeats run one after another"
        assert [r.level for r in mine] == sorted(r.level for r in mine), "level by level"
        for level in levels:
            order = [r.target for r in mine if r.level == level]
            assert sorted(order) == names
            positions.update((t, level, i) for i, t in enumerate(order))
    assert set(positions.values()) == {1}, "each target once in each position at each level"
    assert [r.target for r in runs[:3]] == names, "the first repetition in the order given"


def test_two_targets_alternate_and_an_odd_repeat_is_balanced_within_one() -> None:
    runs = plan_sweep(["a", "b"], [1.0], 5)
    firsts = [r.target for r in runs if r.order % 2 == 0]
    assert firsts == ["a", "b", "a", "b", "a"]
    uneven = plan_sweep(["a", "b", "c"], [1.0, 8.0], 4)
    for level in (1.0, 8.0):
        at_level = [r for r in uneven if r.level == level]
        counts = Counter(
            (r.target, [x.target for x in at_level if x.repeat == r.repeat].index(r.target))
            for r in at_level
        )
        assert max(counts.values()) - min(counts.values()) <= 1
        assert len(counts) == 9


def test_plan_refuses_bad_input() -> None:
    with pytest.raises(UsageError, match="two targets are named 'a'; give each target its own"):
        plan_sweep(["a", "b", "a"], [1.0], 1)
    with pytest.raises(ValueError, match="repeat must be at least 1"):
        plan_sweep(["a", "b"], [1.0], 0)
    with pytest.raises(ValueError, match="at least one target and one level"):
        plan_sweep(["a", "b"], [], 1)


def test_level_plans_keep_the_base_and_give_each_slot_several_requests() -> None:
    base = LoadPlan(concurrency=1, requests=12, warmup_requests=2, seed=9, request_timeout_s=5)
    low, high = level_plan(base, "concurrency", 1), level_plan(base, "concurrency", 8)
    assert (low.concurrency, low.requests) == (1, 12)
    assert high.concurrency == 8
    assert high.requests == REQUESTS_PER_SLOT * 8 + 2
    assert (high.seed, high.warmup_requests, high.request_timeout_s) == (9, 2, 5)
    timed = level_plan(LoadPlan(concurrency=1, duration_s=3), "concurrency", 16)
    assert (timed.requests, timed.duration_s) == (None, 3)
    open_base = LoadPlan(rate=1, requests=50, max_concurrency=4, arrivals="constant")
    open_plan = level_plan(open_base, "rate", 2.5)
    assert (open_plan.rate, open_plan.concurrency, open_plan.requests) == (2.5, None, 50)
    assert (open_plan.max_concurrency, open_plan.arrivals) == (4, "constant")


def test_levels_parse_sorted_and_checked() -> None:
    assert parse_levels("4, 1,2,2", "concurrency") == [1, 2, 4]
    assert parse_levels("2.5,0.5", "rate") == [0.5, 2.5]
    for text, mode, problem in [
        ("1,1.5", "concurrency", "'1.5': a concurrency is a whole number"),
        ("0", "concurrency", "'0': a concurrency is a whole number"),
        ("1,0", "rate", "'0': a rate is requests per second"),
        ("1,,2", "rate", "'' is not a number"),
        ("two", "concurrency", "'two' is not a number"),
        ("1,inf", "concurrency", "'inf': give a finite level"),
        ("nan", "rate", "'nan': give a finite level"),
    ]:
        with pytest.raises(ValueError, match=problem):
            parse_levels(text, mode)  # type: ignore[arg-type]


def test_target_folders_are_distinct_and_safe() -> None:
    names = ["openai://h:8000/v1?model=m", "a/b", "a_b", "..", "x" * 200 + "1", "x" * 200 + "2"]
    folders = target_folders(names)
    assert len(set(folders.values())) == len(names)
    for folder in folders.values():
        assert "/" not in folder
        assert folder not in ("", ".", "..")
        assert len(folder) <= 90


# --- real sweeps -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def swept(
    servers: dict[str, GroundTruth], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, SweepIndex, Recorder]:
    """fast and slow at concurrency 1 and 4, twice each: eight runs."""
    folder = tmp_path_factory.mktemp("sweep")
    recorder = Recorder(folder)
    base = LoadPlan(concurrency=1, requests=6, request_timeout_s=10)
    index = asyncio.run(
        run_sweep(
            targets(servers), workload(), base, "concurrency", [1, 4], 2, folder,
            on_progress=recorder, scrape_metrics=False,
        )
    )  # fmt: skip
    return folder, index, recorder


@pytest.mark.servers
def test_sweep_runs_every_target_at_every_level_in_the_planned_order(
    swept: tuple[Path, SweepIndex, Recorder],
) -> None:
    folder, index, recorder = swept
    planned = plan_sweep(list(TTFT_MS), [1, 4], 2)
    assert recorder.started == planned
    firsts = [r.target for r in recorder.started if r.order % 2 == 0]
    assert firsts == ["fast", "fast", "slow", "slow"], "the order alternates between repeats"
    assert recorder.indexed == list(range(1, 9)), "sweep.json rewritten after every run"
    assert load_sweep(folder) == index
    assert index.stop_reason == "completed"
    assert [(r.target, r.level, r.repeat, r.order) for r in index.runs] == [
        (p.target, p.level, p.repeat, p.order) for p in planned
    ]
    assert index.workload_fingerprint == workload().fingerprint()
    assert [t.name for t in index.targets] == ["fast", "slow"]
    assert not any(t.emulated for t in index.targets)
    for run in index.runs:
        result = load_result(folder / run.folder)
        assert run.folder == f"runs/{run.target}/c{run.level:g}-r{run.repeat}"
        assert result.name == run.target
        assert result.config.workload.fingerprint == index.workload_fingerprint
        assert result.config.sweep == SweepSlot(level=run.level, repeat=run.repeat, order=run.order)
        assert result.run.stop_reason == run.stop_reason == "completed"
        expected = max(6, REQUESTS_PER_SLOT * int(run.level))
        assert (result.summary.completed, result.summary.failed) == (expected, 0)
        assert len(load_records(folder / run.folder)) == expected


@pytest.mark.servers
def test_sweep_measures_the_slower_server_as_slower(
    swept: tuple[Path, SweepIndex, Recorder],
) -> None:
    folder, index, _ = swept
    for level in index.levels:
        medians = {}
        for name in TTFT_MS:
            values = [
                ttft_ns(r)
                for run in index.runs
                if run.target == name and run.level == level
                for r in load_records(folder / run.folder)
            ]
            medians[name] = statistics.median(v for v in values if v is not None) / 1e6
        assert medians["fast"] >= TTFT_MS["fast"]
        assert medians["slow"] - medians["fast"] > (TTFT_MS["slow"] - TTFT_MS["fast"]) / 2


@pytest.mark.servers
def test_comparison_of_a_small_sweep_orders_the_ttft_and_asks_for_more_data(
    swept: tuple[Path, SweepIndex, Recorder],
) -> None:
    from crossfade.compare import analyse_sweep

    folder, index, _ = swept
    comparison = analyse_sweep(folder)
    assert comparison.workload_fingerprint == index.workload_fingerprint
    (pair,) = comparison.pairs
    for level in pair.levels:
        (ttft,) = [m for m in level.metrics if m.metric == "ttft_p50"]
        values = {pair.a: ttft.a_value, pair.b: ttft.b_value}
        assert values["slow"] > values["fast"]
        # Six requests a run are too few for a verdict (docs/metrics.md, "Enough data"): the
        # comparison says so and what it needs instead of ranking on them.
        assert ttft.winner is None
        assert ttft.outcome == "too_little_data", ttft.verdict
        assert "--requests 20" in ttft.verdict


@pytest.mark.servers
def test_interrupt_mid_run_stops_the_sweep_with_what_it_measured(
    servers: dict[str, GroundTruth], tmp_path: Path
) -> None:
    async def main() -> tuple[SweepIndex, Recorder]:
        recorder = Recorder(tmp_path, asyncio.Event(), interrupt_at=1)
        base = LoadPlan(concurrency=1, requests=12)
        index = await run_sweep(
            targets(servers), workload(), base, "concurrency", [1, 2], 2, tmp_path,
            on_progress=recorder, interrupt=recorder.interrupt, scrape_metrics=False,
        )  # fmt: skip
        return index, recorder

    index, recorder = asyncio.run(main())
    assert load_sweep(tmp_path) == index
    assert index.stop_reason == "interrupted"
    assert [(r.order, r.stop_reason) for r in index.runs] == [(0, "completed"), (1, "interrupted")]
    assert [r.order for r in recorder.started] == [0, 1]
    cut = load_result(tmp_path / index.runs[1].folder)
    assert cut.run.stop_reason == "interrupted"
    assert cut.run.records < 12
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["fast", "slow"]
    assert [p.name for p in (tmp_path / "runs" / "fast").iterdir()] == ["c1-r0"]


@pytest.mark.servers
def test_interrupt_between_runs_starts_no_further_run(
    servers: dict[str, GroundTruth], tmp_path: Path
) -> None:
    async def main() -> SweepIndex:
        recorder = Recorder(tmp_path, asyncio.Event(), stop_after=0)
        return await run_sweep(
            targets(servers), workload(), LoadPlan(concurrency=1, requests=3), "concurrency",
            [1], 3, tmp_path, on_progress=recorder, interrupt=recorder.interrupt,
            scrape_metrics=False,
        )  # fmt: skip

    index = asyncio.run(main())
    assert index.stop_reason == "interrupted"
    assert [(r.target, r.stop_reason) for r in index.runs] == [("fast", "completed")]
    assert load_sweep(tmp_path) == index


@pytest.mark.servers
def test_a_target_that_fails_everything_is_indexed_and_the_sweep_goes_on(
    servers: dict[str, GroundTruth], tmp_path: Path
) -> None:
    dead = parse_target(f"openai://127.0.0.1:{free_port()}/v1?model=gt", "dead")
    fast = parse_target(servers["fast"].target, "fast")
    plan = LoadPlan(concurrency=1, requests=3, request_timeout_s=5)
    index = asyncio.run(
        run_sweep([dead, fast], workload(), plan, "concurrency", [1, 2], 1, tmp_path,
                  scrape_metrics=False)
    )  # fmt: skip
    assert index.stop_reason == "completed"
    assert [r.target for r in index.runs] == ["dead", "fast", "dead", "fast"]
    for run in index.runs:
        summary = load_result(tmp_path / run.folder).summary
        if run.target == "dead":
            assert (summary.completed, summary.failed) == (0, summary.requests)
            assert summary.failed > 0
        else:
            assert summary.failed == 0
            assert summary.completed > 0


def test_a_run_that_raises_is_indexed_as_an_error_and_emulation_is_recorded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """run_bench stands in for the real one here: it raises for one target, and reports the
    other as emulated."""
    calls: list[str] = []

    async def fake_run_bench(
        config: BenchConfig, work: Workload, on_record: OnRecord | None, interrupt: object
    ) -> BenchResult:
        calls.append(config.target.name)
        if config.target.name == "broken":
            raise RuntimeError("the client could not start")
        config.output.mkdir(parents=True)
        nothing = summarize([], 0, 1)
        return bench_result(
            config.target.name, config.plan, nothing, start_ns=0, records=0, emulated=True
        )

    monkeypatch.setattr("crossfade.bench.sweep.run_bench", fake_run_bench)
    recorder = Recorder(tmp_path)
    specs = [
        parse_target("triton-trtllm://127.0.0.1:9/ensemble", "broken"),
        parse_target("triton-trtllm://127.0.0.1:9/ensemble", "emulated"),
    ]
    index = asyncio.run(
        run_sweep(specs, workload(), LoadPlan(rate=1, requests=2), "rate", [1, 2.5], 1,
                  tmp_path, on_progress=recorder)
    )  # fmt: skip
    assert calls == ["broken", "emulated"] * 2
    assert index.stop_reason == "completed"
    assert [(r.target, r.stop_reason) for r in index.runs] == [
        ("broken", "error"), ("emulated", "completed"),
    ] * 2  # fmt: skip
    assert [r.folder for r in index.runs][-1] == "runs/emulated/r2.5-r0"
    assert {t.name: t.emulated for t in load_sweep(tmp_path).targets} == {
        "broken": False,
        "emulated": True,
    }
    errors = [f.error for f in recorder.finished if f.error is not None]
    assert errors == ["RuntimeError: the client could not start"] * 2
