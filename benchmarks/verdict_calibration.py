"""How often `crossfade compare` finds a difference that is not there, and finds one that is.

    .venv/bin/python benchmarks/verdict_calibration.py [--seeds 20] [--repeats 3]
        [--concurrency 16,64] [--requests 256] [--output-len 16] [--json FILE]

Three ground-truth servers (`bench/groundtruth.py`): A and A2 the same (50 ms TTFT, 10 ms ITL),
B with a planted 10% (55 ms, 11 ms). Per seed, one `crossfade compare` sweep of the three, run
as a user runs it (its own process, the default confidence, resamples and margin, the seed's
workload), then analysed again at other confidence levels (`--from`-style, in this process):

- A/A (A against A2): per nominal level, the share of metric comparisons whose interval
  excludes 0 (the false-positive rate the level promises to keep below 1 - level), the share
  with a winner under the margin rule, and the share "equivalent";
- A/B (A and A2 against B): the share of comparisons on the metrics the planted difference
  moves (TTFT, ITL and E2E p50 and p99, output tokens/s, requests/s) where B is found behind,
  beyond the margin, at the default level, and the share where the interval holds 0.

`--repeats` takes a list (e.g. 2,3,5): every seed is then swept with each. The whole run takes
about a minute per seed and repeat count at the defaults on an idle 2-core machine (more when
it is shared). `--keep DIR` keeps the sweeps; `--from DIR` tallies kept sweeps again.

Goal (defaults): A/A false-positive rate at or below the nominal rate at every level, no A/A
winner, and the planted 10% found in at least 95% of the A/B comparisons; exit 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from crossfade.bench.calibration import groundtruth_server
from crossfade.bench.protocol import BenchRequest
from crossfade.bench.workload import Workload
from crossfade.compare import analyse_sweep
from crossfade.compare.model import MetricComparison

LEVELS = (0.9, 0.95, 0.99)
DEFAULT_LEVEL = 0.99
SERVERS = {"A": (50.0, 10.0), "A2": (50.0, 10.0), "B": (55.0, 11.0)}
# What the planted 10% moves (ITL and latency 10% higher, throughput about 9% lower).
PLANTED = (
    "output_token_throughput", "request_throughput",
    "ttft_p50", "ttft_p99", "itl_p50", "itl_p99", "e2e_p50", "e2e_p99",
)  # fmt: skip
GOAL_DETECTED = 0.95


def workload(folder: Path, seed: int, requests: int, output_len: int) -> Path:
    """The seed's prompts (no tokenizer: the ground-truth server counts nothing)."""
    entries = tuple(
        BenchRequest(i, f"seed {seed} prompt {i}", 16, output_len) for i in range(requests)
    )
    path = folder / f"workload-{seed}.jsonl"
    Workload(
        source="calibration", seed=seed, tokenizer="none", tokenizer_fingerprint="none",
        requests=entries,
    ).save(path)  # fmt: skip
    return path


def sweep(
    targets: dict[str, str], args: argparse.Namespace, work: Path, seed: int, repeats: int
) -> Path:
    out = work / f"sweep-s{seed}-r{repeats}"
    names = [part for name in targets for part in ("--name", name)]
    command = [
        sys.executable, "-m", "crossfade", "compare", *targets.values(), *names,
        "--concurrency", args.concurrency, "--repeat", str(repeats),
        "--requests", str(args.requests), "--warmup", "8", "--seed", str(seed),
        "--workload", str(workload(work, seed, args.requests * 2, args.output_len)),
        "--no-server-metrics", "-o", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"crossfade compare exited {done.returncode}:\n{done.stderr[-3000:]}")
    return out


def tally(folder: Path, counts: dict[str, Any]) -> None:
    """Adds the sweep's comparisons to `counts` at every level."""
    for level in LEVELS:
        comparison = analyse_sweep(folder, confidence=level)
        for pair in comparison.pairs:
            kind = "aa" if {pair.a, pair.b} == {"A", "A2"} else "ab"
            for at in pair.levels:
                for metric in at.metrics:
                    record(counts, kind, level, metric)
            if kind == "aa" and level == DEFAULT_LEVEL:
                counts["aa_crossovers"] += sum(c.winner is not None for c in pair.crossovers)


def record(counts: dict[Any, Any], kind: str, level: float, m: MetricComparison) -> None:
    key = (kind, level)
    if level == DEFAULT_LEVEL:  # per metric: which ones carry the rates
        by_metric = counts[(kind, "by_metric")]
        tally_of = by_metric[m.metric]
        tally_of["n"] += 1
        judged = m.winner is not None and (kind == "aa" or m.winner != "B")
        tally_of["winner"] += judged
    if kind == "aa":
        counts[key]["n"] += 1
        counts[key]["significant"] += m.significant
        counts[key]["winner"] += m.winner is not None
        counts[key]["equivalent"] += m.outcome == "equivalent"
        counts[key]["too_little_data"] += m.outcome == "too_little_data"
        return
    if m.metric not in PLANTED:
        return
    counts[key]["n"] += 1
    counts[key]["found"] += m.winner is not None and m.winner != "B"
    counts[key]["wrong"] += m.winner == "B"
    counts[key]["holds_0"] += m.ci_low <= 0 <= m.ci_high


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--repeats", default="3", help="repeat counts, e.g. 2,3,5")
    parser.add_argument("--concurrency", default="16,64")
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--output-len", type=int, default=16)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--keep", type=Path, help="keep the sweeps in this new folder")
    parser.add_argument(
        "--from", dest="from_dir", type=Path, help="tally the sweeps kept in DIR; run nothing"
    )
    args = parser.parse_args()
    repeat_counts = [int(part) for part in args.repeats.split(",")]
    figures: dict[str, Any] = {}
    if args.from_dir is not None:
        for repeats in repeat_counts:
            sweeps = sorted(args.from_dir.glob(f"sweep-s*-r{repeats}"))
            counts = new_counts()
            for folder in sweeps:
                tally(folder, counts)
            figures[f"repeats {repeats}"] = summarise(counts, len(sweeps))
        return report(figures, args.json)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=args.keep is None)
        targets = {
            name: "openai://"
            + stack.enter_context(groundtruth_server(ttft, itl, work / f"{name}.log"))
            + "/v1?model=gt"
            for name, (ttft, itl) in SERVERS.items()
        }
        for repeats in repeat_counts:
            counts = new_counts()
            for seed in range(args.seeds):
                tally(sweep(targets, args, work, seed, repeats), counts)
                print(f"repeats {repeats}, seed {seed}: done", file=sys.stderr, flush=True)
            figures[f"repeats {repeats}"] = summarise(counts, args.seeds)
    return report(figures, args.json)


def new_counts() -> dict[Any, Any]:
    counts: dict[Any, Any] = defaultdict(lambda: defaultdict(int))
    counts["aa_crossovers"] = 0
    for kind in ("aa", "ab"):
        counts[(kind, "by_metric")] = defaultdict(lambda: defaultdict(int))
    return counts


def report(figures: dict[str, Any], json_file: Path | None) -> int:
    print(json.dumps(figures, indent=2))
    if json_file:
        json_file.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0 if all(goal_met(f) for f in figures.values()) else 1


def summarise(counts: dict[Any, Any], seeds: int) -> dict[str, Any]:
    result: dict[str, Any] = {"sweeps": seeds, "aa_crossovers": counts["aa_crossovers"]}
    for kind, what in (("aa", "aa_winners_by_metric"), ("ab", "ab_detected_by_metric")):
        result[what] = {
            metric: f"{tally['winner']}/{tally['n']}"
            for metric, tally in counts[(kind, "by_metric")].items()
        }
    for level in LEVELS:
        aa, ab = counts[("aa", level)], counts[("ab", level)]
        result[f"{level:g}"] = {
            "aa_comparisons": aa["n"],
            "aa_false_positive_rate": aa["significant"] / max(aa["n"], 1),
            "aa_nominal_rate": round(1 - level, 4),
            "aa_coverage_of_0": 1 - aa["significant"] / max(aa["n"], 1),
            "aa_winner_rate": aa["winner"] / max(aa["n"], 1),
            "aa_equivalent_rate": aa["equivalent"] / max(aa["n"], 1),
            "aa_too_little_data": aa["too_little_data"],
            "ab_comparisons": ab["n"],
            "ab_detected_rate": ab["found"] / max(ab["n"], 1),
            "ab_wrong_winner": ab["wrong"],
            "ab_interval_holds_0": ab["holds_0"] / max(ab["n"], 1),
        }
    return result


def goal_met(figures: dict[str, Any]) -> bool:
    rates_ok = all(figures[f"{level:g}"]["aa_false_positive_rate"] <= 1 - level for level in LEVELS)
    default = figures[f"{DEFAULT_LEVEL:g}"]
    return (
        rates_ok
        and default["aa_winner_rate"] == 0
        and figures["aa_crossovers"] == 0
        and default["ab_detected_rate"] >= GOAL_DETECTED
    )


if __name__ == "__main__":
    raise SystemExit(main())
