"""How long a projection takes: one point alone, and a point among many in one worker.

    .venv/bin/python benchmarks/projection_point.py [--runs 3] [--levels 1,2,4,8,16,32,64,128]

The example deployment (Llama-3 70B FP8, TP4, H100, 1024 tokens in, 256 out), projected the
way `crossfade project` does it: one worker subprocess in the projection environment per
projection, both backends. "One point": a projection of one backend at one concurrency, start
to finish (the worker's interpreter, the library's imports and its database included).
"Many": every level of --levels for both backends in one worker, the total divided by the
points. Each figure is the median of --runs. Goal: one point under 5 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

from crossfade.project.environment import projection_python
from crossfade.project.hf_config import read_hf_config
from crossfade.project.inputs import ProjectionPlan, Workload, plan_projection
from crossfade.project.projection import project
from crossfade.spec import load_spec

SPEC = "examples/llama-3-70b-fp8-tp4.yaml"


def plan(levels: list[int], backends: int) -> ProjectionPlan:
    spec = load_spec(SPEC)
    config = read_hf_config(None, spec, "--model-config")
    full = plan_projection(spec, SPEC, config, Workload(1024, 256, levels))
    return ProjectionPlan(full.inputs, full.backends[:backends], full.hf_config)


def seconds(projection_plan: ProjectionPlan, runs: int) -> float:
    python = projection_python()
    taken = []
    for _ in range(runs):
        start = time.perf_counter()
        project(projection_plan, python)
        taken.append(time.perf_counter() - start)
    return statistics.median(taken)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--levels", default="1,2,4,8,16,32,64,128")
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    one = seconds(plan([32], backends=1), args.runs)
    print(f"one point (TensorRT-LLM at 32), alone in its worker: {one:.2f} s")
    many = seconds(plan(levels, backends=2), args.runs)
    points = 2 * len(levels)
    print(f"{points} points (both backends at {args.levels}) in one worker: {many:.2f} s, "
          f"{many / points:.2f} s a point")  # fmt: skip


if __name__ == "__main__":
    main()
