"""`crossfade demo`: the whole path on this machine, with nothing to prepare. The steps are the
lab, one concurrency sweep over three targets, the comparison, the report and the advice; and,
while the lab starts, a projection of the example deployment on H100s (project/example.py), in
the report as projected curves and in the advice as its evidence where no measurement of real
backends counts.

The targets are vLLM on Triton, native vLLM (OpenAI API) and TensorRT-LLM's LLM API model as a
team would deploy it today, here the lab's emulated twin: it is marked emulated in every file,
and the advice never counts it as TensorRT-LLM evidence. It returns the server's own timestamps,
so the results, console and report show its server-side split (queue, server TTFT, the
client-minus-server rest). The legacy ensemble stays a lab target, out of the headline. The
deployment facts the advice needs are example facts, written beside the advice in a spec file
(crossfade.yaml) its commands name, because the demo cannot know the user's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crossfade.advise.advice import Advice, build_advice
from crossfade.advise.render import render_markdown as advice_markdown
from crossfade.bench.calibration import load_calibration
from crossfade.bench.plan import LoadPlan
from crossfade.bench.sweep import SweepProgress, run_sweep
from crossfade.bench.sweep_index import SweepIndex
from crossfade.bench.targets import length_notice, parse_target
from crossfade.bench.workload import synthetic_workload
from crossfade.compare import analyse_sweep, save_comparison, verdict_lines
from crossfade.compare.estimates import METRICS
from crossfade.compare.model import Comparison
from crossfade.errors import UsageError
from crossfade.lab.control import down, lab_spec, status, up
from crossfade.lab.settings import LabSettings
from crossfade.lab.targets import Target
from crossfade.project.example import ExampleProjection, project_example
from crossfade.report import load_report, render_html
from crossfade.saved import write_atomic
from crossfade.spec.load import load_spec
from crossfade.spec.models import Deployment

# Each is a lab target name (crossfade.lab.targets): vLLM in Triton and on its own, and the
# LLM API model (emulated), the layout TensorRT-LLM ships today.
DEMO_TARGETS = ("vllm-triton", "vllm-native", "trtllm-emulated-llmapi")
# The lab's engine is the emulator, not an engine the team serves: no legacy deployment here.
EXAMPLE_FACTS = Deployment(
    tensorrtllm_runs_engines=False,
    model_support="both",
    quantization="fp8",  # as the example deployment the demo projects (Llama-3 70B FP8)
    expected_concurrency=16,
    ttft_p99_target_ms=500.0,
)
# Written beside the advice: the spec its commands name.
EXAMPLE_SPEC = "crossfade.yaml"
EXAMPLE_SPEC_NOTE = (
    "# crossfade demo: the lab's spec, with example deployment facts (the demo cannot know\n"
    "# yours): state your own under deployment: and run crossfade advise on it.\n"
)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoSettings:
    output: Path
    # Three levels a factor 4 apart and three repeats (27 runs, against 30 for five levels x 2):
    # verdicts need 2 repeats or more and medians settle with 3; the requests a run measures
    # (64 at 4 per slot of the top level) keep p50s and throughput ranked, p99s (100 needed)
    # say "too little data" (docs/metrics.md, "Enough data").
    levels: tuple[int, ...] = (1, 4, 16)
    repeat: int = 3
    requests_per_slot: int = 4  # measured requests per unit of concurrency, at least 16
    input_len: int = 64
    output_len: int = 32
    keep_lab: bool = False  # leave a lab the demo started running afterwards


@dataclass
class DemoOutcome:
    sweep: Path
    report: Path
    advice_file: Path
    index: SweepIndex
    comparison: Comparison | None
    advice: Advice | None
    lab_started: bool
    seconds: float
    notes: list[str] = field(default_factory=list)
    projection: ExampleProjection | None = None


async def run_demo(
    settings: DemoSettings,
    lab: LabSettings,
    progress: Progress,
    sweep_progress: SweepProgress | None = None,
    interrupt: asyncio.Event | None = None,
) -> DemoOutcome:
    """Run the demo into `settings.output`; stops a lab it started unless `keep_lab`."""
    started = time.monotonic()
    if (settings.output / "sweep" / "sweep.json").exists():
        raise UsageError(f"{settings.output}: holds an earlier demo; give a new -o folder")
    # The projection runs while the lab starts, and is joined before the sweep: its CPU never
    # competes with a measurement.
    progress("projecting the example deployment (Llama-3 70B FP8, TP4, H100) in the background")
    projecting = asyncio.create_task(asyncio.to_thread(project_example, settings.output))
    try:
        current = status(lab)
        lab_started = not current.running
        if lab_started:
            progress("starting the lab (a real Triton and a real vLLM on the CPU; about a minute)")
            current = await asyncio.to_thread(up, lab, progress)
        else:
            progress(f"using the lab already running in {lab.folder}")
    finally:
        example = await projecting
    progress(example.note)
    try:
        outcome = await _measure_and_write(settings, current.model_dir, current.targets(), progress,
                                           sweep_progress, interrupt, example)  # fmt: skip
    finally:
        if lab_started and not settings.keep_lab:
            progress("stopping the lab the demo started (--keep-lab leaves it running)")
            await asyncio.to_thread(down, lab)
    outcome.lab_started = lab_started
    outcome.seconds = time.monotonic() - started
    return outcome


async def _measure_and_write(
    settings: DemoSettings,
    model_dir: str | None,
    lab_targets: list[Target],
    progress: Progress,
    sweep_progress: SweepProgress | None,
    interrupt: asyncio.Event | None,
    example: ExampleProjection | None = None,
) -> DemoOutcome:
    if model_dir is None:
        raise UsageError("the running lab recorded no model folder; restart it: crossfade lab down")
    urls = {target.name: target.url for target in lab_targets}
    targets = [parse_target(urls[name], name) for name in DEMO_TARGETS]
    for notice in filter(None, map(length_notice, targets)):
        progress(notice)
    top = max(settings.levels)
    requests = max(16, settings.requests_per_slot * top)
    workload = synthetic_workload(
        model_dir, requests, str(settings.input_len), str(settings.output_len), seed=0
    )
    base = LoadPlan(concurrency=1, requests=16, warmup_requests=0)
    sweep = settings.output / "sweep"
    total = len(targets) * len(settings.levels) * settings.repeat
    progress(
        f"sweeping concurrency {','.join(map(str, settings.levels))} x {settings.repeat} "
        f"repeats on {len(targets)} targets ({total} runs; prompts of {settings.input_len} "
        f"tokens, {settings.output_len} output tokens each: exact where a target can be asked)"
    )
    index = await run_sweep(
        targets, workload, base, "concurrency", [float(level) for level in settings.levels],
        settings.repeat, sweep, on_progress=sweep_progress, interrupt=interrupt,
        client_overhead=load_calibration(),
    )  # fmt: skip
    report, advice_file = settings.output / "report.html", settings.output / "advice.md"
    outcome = DemoOutcome(sweep, report, advice_file, index, None, None, True, 0.0)
    outcome.projection = example
    projected = example.path if example is not None else None
    if not index.runs:
        outcome.notes.append(f"nothing was measured (sweep {index.stop_reason})")
        return outcome
    progress("comparing (bootstrap intervals from every request)")
    outcome.comparison = analyse_sweep(sweep)
    save_comparison(sweep, outcome.comparison)
    progress("writing the report and the advice")
    title = "crossfade demo: the lab's three targets" + (", and a projection" if projected else "")
    html = render_html(load_report([sweep, *([projected] if projected else [])]), title)
    report.write_text(html, encoding="utf-8")
    outcome.advice = advise_on_example_facts(
        settings.output, Path(model_dir), [(str(sweep), outcome.comparison)], example
    )
    advice_file.write_text(advice_markdown(outcome.advice), encoding="utf-8")
    return outcome


def headline_verdicts(comparison: Comparison) -> list[str]:
    """The verdict lines the demo prints: each pair's heading with its output-throughput verdict
    and crossover, every target that failed, and saturation (`verdict_lines` has them all)."""
    label = f"{METRICS['output_token_throughput'][2]}:"
    return [line for line in verdict_lines(comparison) if not line.startswith(" ") or label in line]


def advise_on_example_facts(
    folder: Path,
    model_dir: Path,
    comparisons: list[tuple[str, Comparison]],
    example: ExampleProjection | None = None,
) -> Advice:
    """The advice on the lab's spec with EXAMPLE_FACTS, and the example projection as evidence
    when there is one. The spec is written to folder/crossfade.yaml first and read back, so
    every command in the advice names a real spec file (and runs as printed)."""
    spec = lab_spec(model_dir).model_copy(update={"deployment": EXAMPLE_FACTS})
    data = spec.model_dump(mode="json", exclude_unset=True, by_alias=True)
    path = write_atomic(
        folder / EXAMPLE_SPEC, EXAMPLE_SPEC_NOTE + yaml.safe_dump(data, sort_keys=False)
    )
    projection = None
    if example is not None and example.path is not None and example.projection is not None:
        projection = (str(example.path), example.projection)
    return build_advice(load_spec(str(path)), str(path), comparisons, projection)
