"""Throughput replicates: the replayed closed loop, the open loop's shares, and repeats."""

from __future__ import annotations

import numpy as np
import pytest

from crossfade.compare.intervals import RunValue, relative_difference
from crossfade.compare.stats import log_variance
from crossfade.compare.throughput import ThroughputSample, makespans, throughput_replicates
from tests.compare import synthetic


def test_makespan_sends_each_job_to_the_first_free_slot() -> None:
    durations = np.array([[3.0, 1, 2, 2], [1, 1, 1, 1]])
    # Two slots: 3 | 1, then 2 on the second (free at 1, busy to 3), then 2 on the first.
    assert makespans(durations, 2).tolist() == [5.0, 2.0]
    assert makespans(durations, 1).tolist() == [8.0, 4.0]
    assert makespans(durations, 4).tolist() == [3.0, 1.0]
    assert makespans(np.zeros((2, 0)), 3).tolist() == [0.0, 0.0]


def test_the_replay_matches_the_spread_of_independent_runs() -> None:
    """At concurrency 32 with 12 requests a slot, the run's end is the slowest slot's: the
    bootstrap must see that spread, not only that of the mean request time."""
    rng = np.random.default_rng(4)
    throughputs, spreads = [], []
    for _ in range(60):
        durations, ends = synthetic.closed_loop(rng, 400, 32)
        run = ThroughputSample(durations, {"requests": np.ones(400)}, ends.max() / 1e9, 32)
        throughputs.append(400 / run.window_s)
        replicates = throughput_replicates([run], 400, rng)["requests"]
        spreads.append(replicates.std() / throughputs[-1])
    true_spread = np.std(throughputs) / np.mean(throughputs)
    assert np.mean(spreads) == pytest.approx(true_spread, rel=0.3)
    # The mean request time alone varies less: sqrt(n) = 20 requests' CV 0.3 is 1.5%.
    assert true_spread > 0.02


def test_a_steady_server_gives_a_narrow_interval() -> None:
    """Requests that all take about the same time end in waves; the replay keeps the rate."""
    rng = np.random.default_rng(0)
    runs = []
    for _ in range(2):
        durations, ends = synthetic.closed_loop(rng, 150, 16, scale=0.1, cv=0.01)
        runs.append(
            ThroughputSample(durations, {"tokens": np.full(150, 16.0)}, ends.max() / 1e9, 16)
        )
    a, b = (throughput_replicates([run], 2000, rng)["tokens"] for run in runs)
    point = [run.counted["tokens"].sum() / run.window_s for run in runs]
    difference = relative_difference(
        [RunValue(0, point[0], log_variance(a))],
        [RunValue(0, point[1], log_variance(b))],
        0.99,
    )
    assert difference.high - difference.low < 0.02
    assert not difference.significant


def test_replicates_center_on_the_point_value() -> None:
    """Closed loop (replayed) and open loop (shares of the window) alike: the replicates spread
    around counted / window."""
    slot = np.array([4.0, 2.0, 2.0, 4.0])
    counted = {"tokens": np.array([10.0, 0.0, 5.0, 5.0])}
    closed = ThroughputSample(slot, counted, window_s=8.0, concurrency=2)
    open_loop = ThroughputSample(slot, counted, window_s=8.0, concurrency=None)
    for run in (closed, open_loop):
        replicates = throughput_replicates([run], 3000, np.random.default_rng(0))["tokens"]
        assert np.median(replicates) == pytest.approx(20 / 8, rel=0.25)
        assert replicates.std() > 0


def test_repeats_that_drift_widen_the_interval() -> None:
    rng = np.random.default_rng(2)

    def run(scale: float) -> ThroughputSample:
        durations, ends = synthetic.closed_loop(rng, 200, 8, scale)
        return ThroughputSample(durations, {"requests": np.ones(200)}, ends.max() / 1e9, 8)

    steady = [run(1.0), run(1.0)]
    drifting = [run(1.0), run(1.3)]
    width = {
        name: np.subtract(
            *np.quantile(throughput_replicates(runs, 2000, rng)["requests"], [0.995, 0.005])
        )
        for name, runs in (("steady", steady), ("drifting", drifting))
    }
    assert width["drifting"] > 2 * width["steady"]


def test_a_run_that_measured_nothing_counts_its_window() -> None:
    empty = ThroughputSample(np.zeros(0), {"requests": np.zeros(0)}, 2.0, 4)
    busy = ThroughputSample(np.full(8, 1e9), {"requests": np.ones(8)}, 2.0, 4)
    replicates = throughput_replicates([empty, busy], 500, np.random.default_rng(0))["requests"]
    # Replicates draw the empty run 0, 1 or 2 times: 8 / 2 s, 8 / 4 s or 0 / 4 s.
    assert set(np.round(replicates, 6).tolist()) == {4.0, 2.0, 0.0}
