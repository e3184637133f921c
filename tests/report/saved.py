"""Saved folders for report tests, built by hand: result folders with integer-ns records, a
sweep.json indexing them, and a comparison.json whose numbers the tests can look for."""

from __future__ import annotations

import json
from pathlib import Path

from crossfade.bench.dialects.base import ServerTimes
from crossfade.bench.plan import LoadPlan
from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.result_model import TritonServerInfo
from crossfade.bench.results import save_result
from crossfade.bench.slo import parse_slos
from crossfade.bench.summary import in_window, summarize
from crossfade.bench.sweep_index import SweepIndex, SweepRun, SweepTarget, save_sweep
from crossfade.compare.model import (
    COMPARISON_FILE,
    Comparison,
    Crossover,
    LevelComparison,
    MetricComparison,
    MetricName,
    PairComparison,
    Saturation,
    TargetLevelSummary,
)
from tests.support.results import WORKLOAD, bench_result

REAL = "vllm-direct"
EMULATED = "tensorrtllm-ensemble"
EMULATED_LABEL = "tensorrtllm-ensemble (EMULATED \u2014 not TensorRT-LLM)"
LEVELS = (1.0, 2.0, 4.0, 8.0)
MS = 1_000_000
SERVER_EPOCH = 7_000_000 * MS  # where the server's own clock stands: nowhere near the client's
SLOS = "ttft:p99<80ms"
Failing = tuple[int, ErrorKind, str]  # (n, kind, message): see `records`


def records(
    target: str,
    level: int,
    count: int = 48,
    failing: Failing | None = None,
    stamped: bool = False,
) -> list[RequestRecord]:
    """`count` requests in waves of `level`; latency grows with the load, the emulated target
    is slower and fails a few requests at the top level. Two warm-up requests come first.
    `failing` = (n, kind, message): the first n measured requests fail so. `stamped`: each
    carries the server's own timestamps, its TTFT 2 ms under the client's after 1 ms queued."""
    slow = 2 if target == EMULATED else 1
    made = []
    for index in range(count + 2):
        start = 1_000 * MS + (index // level) * 80 * MS
        ttft = (10 + 3 * level + index % 5) * MS * slow
        itl = (2 + level // 2) * MS * slow
        chunk_ns = [start + ttft + i * itl for i in range(16)]
        record = RequestRecord(
            index,
            128,
            16,
            scheduled_ns=start,
            sent_ns=start + 1_000,
            first_byte_ns=chunk_ns[0],
            chunk_ns=chunk_ns,
            chunk_tokens=[1] * 16,
            end_ns=chunk_ns[-1] + MS,
            server_output_tokens=16,
        )
        if stamped:
            arrival = SERVER_EPOCH + index * 1000 * MS
            first = arrival + (chunk_ns[0] - record.sent_ns) - 2 * MS
            record.server_times = ServerTimes(arrival, arrival + MS, first, first + 15 * itl)
        if target == EMULATED and level == 8 and index % 10 == 3:
            record.fail(ErrorKind.TIMEOUT if index % 20 == 3 else ErrorKind.HTTP_STATUS, "x", 0)
        if failing is not None and 2 <= index < 2 + failing[0]:
            record.fail(failing[1], failing[2], start + 5 * MS)
        made.append(record)
    return made


def save_run(
    folder: Path,
    target: str,
    level: int,
    emulated: bool,
    count: int = 48,
    rate: float | None = None,
    slos: str | None = SLOS,
    failing: Failing | None = None,
    stamped: bool = False,
) -> Path:
    """A result folder as `crossfade bench` writes it; open loop at `rate` when given."""
    made = records(target, level, count, failing, stamped)
    start, end = made[2].scheduled_ns, max(r.end_ns for r in made)
    plan = (
        LoadPlan(rate=rate, requests=count, warmup_requests=2)
        if rate
        else LoadPlan(concurrency=level, requests=count, warmup_requests=2)
    )
    summary = summarize(in_window(made, start, end), start, end, parse_slos(slos) if slos else [])
    dialect = "trtllm" if emulated else "vllm"
    url = f"triton-{dialect}://127.0.0.1:8000/m"
    server = TritonServerInfo(
        target=target,
        url=url,
        protocol="triton-http",
        dialect=dialect,
        model="m",
        server="triton",
        server_version="2.51.0",
        crossfade_emulated=emulated,
    )
    result = bench_result(
        target,
        plan,
        summary,
        start_ns=made[0].scheduled_ns,
        records=len(made),
        slos=[slos] if slos else [],
        url=url,
        server=server,
        emulated=emulated,
        started_at_unix=1_750_000_000.0 + level,
    )
    return save_result(folder, result, made)


def metric(
    name: MetricName, level: float, winner: str | None, difference: float
) -> MetricComparison:
    better = "higher" if "throughput" in name else "lower"
    return MetricComparison(
        metric=name,
        better=better,
        unit="tok/s" if better == "higher" else "ms",
        a_value=100.0 * level,
        b_value=100.0 * level * (1 + difference),
        difference=difference,
        ci_low=difference - 0.031,
        ci_high=difference + 0.047,
        significant=winner is not None,
        outcome="ahead" if winner else "unclear",
        winner=winner,
        repeats=3,
        verdict=f"{winner} ahead"
        if winner
        else f"{EMULATED} and {REAL}: no significant difference",
    )


def bands(s: TargetLevelSummary) -> dict[MetricName, tuple[float, float]]:
    """Intervals 8% either side of the throughputs and latencies (the report's error bars)."""
    values: dict[MetricName, float] = {
        "output_token_throughput": s.output_token_throughput,
        "request_throughput": s.request_throughput,
        "ttft_p50": s.ttft_ms["p50"],
        "ttft_p99": s.ttft_ms["p99"],
        "itl_p50": s.itl_ms["p50"],
        "itl_p99": s.itl_ms["p99"],
    }
    return {metric: (value * 0.92, value * 1.08) for metric, value in values.items()}


def comparison(targets: list[SweepTarget]) -> Comparison:
    levels = [
        LevelComparison(
            level=level,
            metrics=[
                metric("output_token_throughput", level, REAL if level >= 4 else None, 0.25),
                metric("ttft_p99", level, REAL if level >= 2 else None, -0.4),
            ],
        )
        for level in LEVELS
    ]
    summaries = [
        TargetLevelSummary(
            target=t.name,
            level=level,
            runs=[f"{t.name}-c{level:g}"],
            requests=48,
            failed=0,
            output_token_throughput=150.0 * level * (2 if t.emulated else 3),
            request_throughput=9.0 * level,
            goodput=8.0 * level,
            ttft_ms={
                "p50": 12.0 * level * slow,
                "p90": 14.0 * level,
                "p99": 20.0 * level * slow,
                "mean": 13.0,
            },
            itl_ms={
                "p50": 2.0 + level * slow,
                "p90": 3.0 + level,
                "p99": 4.0 + level * slow,
                "mean": 2.5,
            },
            e2e_ms={"p50": 50.0 * level, "p90": 60.0 * level, "p99": 70.0 * level, "mean": 55.0},
            output_tokens_per_s_per_user=400.0 / level,
        )
        for t in targets
        for level in LEVELS
        for slow in [1.5 if t.emulated else 1.0]
    ]
    summaries = [s.model_copy(update={"intervals": bands(s)}) for s in summaries]
    return Comparison(
        mode="concurrency",
        levels=list(LEVELS),
        targets=targets,
        workload_fingerprint=WORKLOAD.fingerprint,
        confidence=0.95,
        margin=0.05,
        resamples=1000,
        seed=3,
        summaries=summaries,
        pairs=[
            PairComparison(
                a=EMULATED,
                b=REAL,
                levels=levels,
                crossovers=[
                    Crossover(
                        metric="output_token_throughput",
                        winner=REAL,
                        from_level=4.0,
                        note=f"{REAL} is ahead of {EMULATED} from concurrency 4 on",
                    )
                ],
            )
        ],
        saturation=[
            Saturation(target=EMULATED, level=4.0, note=f"{EMULATED} stops scaling at 4"),
            Saturation(target=REAL, level=None, note="still scaling at 8"),
        ],
    )


def save_sweep_runs(
    folder: Path, targets: list[SweepTarget], failing: dict[tuple[str, float], Failing]
) -> None:
    """Every target at every level, targets alternating level by level, and sweep.json."""
    runs = []
    for order, (target, level) in enumerate((t, lv) for lv in LEVELS for t in targets):
        run_folder = f"runs/run-{order:03d}"
        save_run(
            folder / run_folder, target.name, int(level), target.emulated,
            failing=failing.get((target.name, level)),
        )  # fmt: skip
        runs.append(
            SweepRun(
                target=target.name, level=level, repeat=0, order=order, folder=run_folder,
                stop_reason="completed",
            )
        )  # fmt: skip
    save_sweep(
        folder,
        SweepIndex(
            mode="concurrency",
            levels=list(LEVELS),
            repeat=1,
            targets=targets,
            workload_fingerprint=WORKLOAD.fingerprint,
            runs=runs,
        ),
    )


def save_sweep_folder(folder: Path, with_comparison: bool = True) -> Path:
    """Both targets at every level; the emulated one flagged in sweep.json and its results."""
    targets = [
        SweepTarget(name=EMULATED, url="triton-trtllm://127.0.0.1:8000/ensemble", emulated=True),
        SweepTarget(name=REAL, url="triton-vllm://127.0.0.1:8000/vllm_model"),
    ]
    save_sweep_runs(folder, targets, {})
    if with_comparison:
        text = json.dumps(comparison(targets).model_dump(mode="json"), indent=2)
        (folder / COMPARISON_FILE).write_text(text, encoding="utf-8")
    return folder


def bare_mentions(text: str, name: str = EMULATED) -> list[str]:
    """Each place `name` appears without its emulated mark right after it (with context)."""
    found, start = [], text.find(name)
    while start != -1:
        end = start + len(name)
        if not text.startswith(EMULATED_LABEL, start):
            found.append(text[max(0, start - 40) : end + 40])
        start = text.find(name, end)
    return found


BROKEN = "vllm-broken"
DOWN = "trtllm-down"
UNKNOWN_MODEL = "HTTP 400: model 'vllm_modle' is not found"
REFUSED = "connection refused by 127.0.0.1:8001"


def save_failing_sweep(folder: Path) -> Path:
    """REAL answers everywhere; BROKEN fails 40 of its requests at concurrency 8 (an unknown
    model); DOWN refuses every connection at every level. No comparison.json."""
    targets = [
        SweepTarget(name=REAL, url="triton-vllm://127.0.0.1:8000/vllm_model"),
        SweepTarget(name=BROKEN, url="triton-vllm://127.0.0.1:8000/vllm_modle"),
        SweepTarget(name=DOWN, url="triton-trtllm://127.0.0.1:8001/ensemble"),
    ]
    failing: dict[tuple[str, float], Failing] = {
        (BROKEN, 8.0): (40, ErrorKind.HTTP_STATUS, UNKNOWN_MODEL),
        **{(DOWN, level): (48, ErrorKind.CONNECT, REFUSED) for level in LEVELS},
    }
    save_sweep_runs(folder, targets, failing)
    return folder
