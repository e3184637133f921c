"""crossfade's client against `vllm bench serve`'s, both measured against the ground-truth server.

    .venv/bin/python benchmarks/client_overhead.py [--repeats 3] [--skip-vllm] [--json FILE]

One ground-truth server (50 ms TTFT, 10 ms ITL) serves every run; each client runs in its own
process, alternating, `--repeats` times: 256 requests of 64 streamed tokens, 128 in flight.
vLLM's client is `vllm.benchmarks.serve` in-process (random dataset, 32 input tokens, the tiny
lab tokenizer, --disable-tqdm, --save-result --save-detailed); its per-request TTFT and ITL
lists are read back from that file and joined with the server log by prompt. Per client:
client-added TTFT (mean, p99; also without the first 128 requests, which open connections), ITL
error (mean, p99), CPU time per streamed chunk from the first request to the last completion
(imports, tokenizer, dataset outside). Then crossfade open loop: 500/s constant, 10 s, 8 tokens.

Goals: crossfade's added TTFT mean < 3 ms and <= 1/3 of vLLM's; its CPU per chunk <= 1/2 of
vLLM's; the open-loop send rate within 1% of 500/s. `--profile FILE` adds an unmeasured
crossfade closed-loop run under cProfile (CPU time) and saves the profile there.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from crossfade.bench.calibration import Thresholds, flush_log, groundtruth_server, join
from crossfade.bench.calibration import level_figures as level
from crossfade.bench.protocol import ErrorKind, RequestRecord

STREAMS, TOKENS, PROMPTS, RATE, RATE_SECONDS, RATE_TOKENS = 128, 64, 256, 500.0, 10.0, 8
Marks = dict[str, float]


def mark(marks: Marks, which: str) -> None:
    marks[f"cpu{which}"], marks[f"wall{which}"] = time.process_time(), time.perf_counter()
    marks[f"sys{which}"] = resource.getrusage(resource.RUSAGE_SELF).ru_stime  # kernel share


# --- children: one client run each, written to --out as {records, prompts, cpu_s, wall_s} ------


def crossfade_child(address: str, rate: float | None, out: Path, profile: str | None) -> None:
    import asyncio
    import cProfile

    import uvloop

    from crossfade.bench.arrivals import arrival_offsets
    from crossfade.bench.clients import make_client
    from crossfade.bench.plan import LoadPlan
    from crossfade.bench.protocol import BenchRequest
    from crossfade.bench.runner import run_load
    from crossfade.bench.targets import parse_target

    count, tokens = (int(rate * RATE_SECONDS), RATE_TOKENS) if rate else (PROMPTS, TOKENS)
    prompts = {i: f"crossfade {os.getpid()} {i}" for i in range(count)}
    requests = [BenchRequest(i, p, 32, tokens) for i, p in prompts.items()]
    if rate:
        plan = LoadPlan(rate=rate, arrivals="constant", requests=count)
    else:
        plan = LoadPlan(concurrency=STREAMS, requests=count)
    marks: Marks = {}
    profiler = cProfile.Profile(time.process_time) if profile else None

    async def go() -> list[RequestRecord]:
        target = parse_target(f"openai://{address}/v1?model=gt")
        client = make_client(target, concurrency=plan.concurrency or 0)
        await client.start()
        offsets = arrival_offsets("constant", rate, 0) if rate else None
        mark(marks, "0")
        if profiler is not None:
            profiler.enable()

        def done(record: RequestRecord) -> None:
            mark(marks, "1")  # the last call is the end of the run

        try:
            return (await run_load(client, requests, plan, offsets, on_record=done)).records
        finally:
            if profiler is not None:
                profiler.disable()
            await client.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        records = runner.run(go())
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    write_child(out, records, prompts, marks)


def vllm_child(address: str, tokenizer: str, out: Path) -> None:
    import vllm.benchmarks.serve as serve
    from vllm.benchmarks.lib.endpoint_request_func import ASYNC_REQUEST_FUNCS
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    marks: Marks = {}
    prompt_at: dict[float, str] = {}  # start_time -> prompt, to join the saved results
    get_request, request_func = serve.get_request, ASYNC_REQUEST_FUNCS["openai"]

    async def timed_get_request(*args: Any, **kwargs: Any) -> Any:
        async for item in get_request(*args, **kwargs):  # only the main run draws from it
            if not marks:
                mark(marks, "0")
            yield item

    async def timed_request_func(request_func_input: Any, session: Any, pbar: Any = None) -> Any:
        output = await request_func(
            request_func_input=request_func_input, session=session, pbar=pbar
        )
        mark(marks, "1")
        prompt_at[output.start_time] = request_func_input.prompt
        return output

    serve.get_request = timed_get_request
    ASYNC_REQUEST_FUNCS["openai"] = timed_request_func  # the dict serve.py looks it up in
    parser = FlexibleArgumentParser()  # type: ignore[no-untyped-call]
    serve.add_cli_args(parser)
    saved = out.with_name(f"{out.stem}-vllm.json")
    flags = f"""--backend openai --base-url http://{address} --endpoint /v1/completions
        --model gt --tokenizer {tokenizer} --dataset-name random --random-input-len 32
        --random-output-len {TOKENS} --num-prompts {PROMPTS} --max-concurrency {STREAMS}
        --ignore-eos --disable-tqdm --save-result --save-detailed --result-dir {saved.parent}
        --result-filename {saved.name}"""
    serve.main(parser.parse_args(flags.split()))
    result = json.loads(saved.read_text())
    records, prompts = [], {}
    rows = zip(
        result["start_times"], result["ttfts"], result["itls"], result["errors"], strict=True
    )
    for index, (start, ttft, itl, error) in enumerate(rows):
        prompts[index] = str(prompt_at[start])
        sent = round(start * 1e9)
        times = [round((start + ttft + sum(itl[:k])) * 1e9) for k in range(len(itl) + 1)]
        record = RequestRecord(index, 32, TOKENS, sent, sent_ns=sent, end_ns=times[-1])
        record.chunk_ns, record.chunk_tokens = times, [1] * len(times)
        if error or not ttft:
            record.fail(ErrorKind.OTHER, str(error), times[-1])
        records.append(record)
    write_child(out, records, prompts, marks)


def write_child(out: Path, records: list[RequestRecord], prompts: Any, marks: Marks) -> None:
    cpu_s, wall_s = marks["cpu1"] - marks["cpu0"], marks["wall1"] - marks["wall0"]
    rows = [r.to_json() for r in records]
    data: dict[str, Any] = {"records": rows, "prompts": prompts, "cpu_s": cpu_s, "wall_s": wall_s}
    data["sys_s"] = marks["sys1"] - marks["sys0"]
    out.write_text(json.dumps(data), encoding="utf-8")


def server_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(role: str, address: str, out: Path, extra: list[str]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--role", role, "--address", address, "--out", str(out)]
    errors = out.with_suffix(".stderr")
    with errors.open("wb") as stderr:
        code = subprocess.run(command + extra, stdout=subprocess.DEVNULL, stderr=stderr).returncode
    if code:
        raise SystemExit(f"{role} client failed ({code}):\n{errors.read_text()[-3000:]}")
    return dict(json.loads(out.read_text()))


def figures(data: dict[str, Any], log: Path, address: str, streams: int) -> dict[str, Any]:
    records = [RequestRecord.from_json(r) for r in data["records"]]
    prompts = {int(i): p for i, p in data["prompts"].items()}
    pairs, unmatched = join(records, prompts, flush_log(address, log))
    result = level(streams, pairs, len(unmatched), Thresholds()).model_dump()
    warm = level(streams, pairs[streams:], 0, Thresholds()) if streams else None
    result["warm"] = warm.model_dump() if warm is not None else None
    result["cpu_s"], result["wall_s"] = data["cpu_s"], data["wall_s"]
    result["cpu_us_per_chunk"] = data["cpu_s"] * 1e6 / max(result["chunks"], 1)
    result["sys_us_per_chunk"] = data["sys_s"] * 1e6 / max(result["chunks"], 1)
    sent = sorted(r.sent_ns for r in records)
    lags = sorted(r.sent_ns - r.scheduled_ns for r in records)
    result["sent_rate_per_s"] = (len(sent) - 1) * 1e9 / (sent[-1] - sent[0])
    result["send_lag_ms"] = {"p50": lags[len(lags) // 2] / 1e6, "max": lags[-1] / 1e6}
    return result


def parent(args: argparse.Namespace) -> dict[str, Any]:
    from crossfade.lab.tiny_model import ensure_tiny_model

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crossfade"
    tokenizer = str(ensure_tiny_model(cache / "client-overhead"))
    results: dict[str, Any] = {"crossfade": [], "vllm": [], "open_loop": [], "load": []}
    with (
        tempfile.TemporaryDirectory(prefix="client-overhead-") as tmp,
        groundtruth_server(50.0, 10.0, Path(tmp) / "log.jsonl") as address,
    ):
        folder, log = Path(tmp), Path(tmp) / "log.jsonl"
        children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
        (server_pid,) = map(int, children)  # the server is this process's only child so far
        if args.profile:  # an extra run, not measured: the profiler slows the client down
            run_child("crossfade", address, folder / "profile.json", ["--profile", args.profile])
            flush_log(address, log)
        roles = ["crossfade"] + ([] if args.skip_vllm else ["vllm"])
        for run in range(args.repeats):
            for role in roles if run % 2 == 0 else roles[::-1]:
                extra = ["--tokenizer", tokenizer] if role == "vllm" else []
                results["load"].append(round(os.getloadavg()[0], 2))
                server0 = server_cpu_s(server_pid)
                data = run_child(role, address, folder / f"{role}-{run}.json", extra)
                result = figures(data, log, address, STREAMS)
                result["server_cpu_s"] = server_cpu_s(server_pid) - server0
                results[role].append(result)
                print(f"run {run} {role}: {closed_line(result)}", flush=True)
            data = run_child("crossfade", address, folder / f"open-{run}.json", ["--rate", "500"])
            results["open_loop"].append(figures(data, log, address, 0))
            print(f"run {run} open loop: {open_line(results['open_loop'][-1])}", flush=True)
    results["load"].append(round(os.getloadavg()[0], 2))
    return results


def closed_line(r: dict[str, Any]) -> str:
    ttft, warm, itl = r["added_ttft_ms"], r["warm"]["added_ttft_ms"], r["itl_error_ms"]
    return (
        f"added TTFT mean {ttft['mean']:.2f} p99 {ttft['p99']:.2f} ms "
        f"(send {r['send_ms']['mean']:.2f} + receive {r['receive_ms']['mean']:.2f}; "
        f"after the first round: mean {warm['mean']:.2f}"
        f" p99 {warm['p99']:.2f}); ITL error mean {itl['mean']:.3f} p99 {itl['p99']:.2f} ms; "
        f"CPU {r['cpu_s']:.2f} s / {r['chunks']} chunks = {r['cpu_us_per_chunk']:.1f} us/chunk "
        f"(kernel {r['sys_us_per_chunk']:.1f}) "
        f"(server CPU {r['server_cpu_s']:.2f} s, wall {r['wall_s']:.2f} s); "
        f"{r['joined']}/{r['requests']} joined, {r['failed']} failed"
    )


def open_line(r: dict[str, Any]) -> str:
    return (
        f"sent {r['sent_rate_per_s']:.2f}/s for a target of {RATE:.0f}/s; send lag p50 "
        f"{r['send_lag_ms']['p50']:.2f} max {r['send_lag_ms']['max']:.2f} ms; {r['requests']} "
        f"requests, {r['failed']} failed; added TTFT mean {r['added_ttft_ms']['mean']:.2f} p99 "
        f"{r['added_ttft_ms']['p99']:.2f} ms; CPU {r['cpu_us_per_chunk']:.1f} us/chunk"
    )


def report(results: dict[str, Any]) -> None:
    def median(role: str, *path: str) -> float:
        values = []
        for value in results[role]:
            for key in path:
                value = value[key]
            values.append(value)
        return float(statistics.median(values))

    print(f"\nload average (1 min) before each run and at the end: {results['load']}")
    for role in ("crossfade", "vllm"):
        if results[role]:
            print(f"{role}, median of {len(results[role])} runs (ms):")
            for name in ("added_ttft_ms", "send_ms", "receive_ms", "itl_error_ms"):
                mean, p99 = median(role, name, "mean"), median(role, name, "p99")
                print(f"  {name:14} mean {mean:8.3f}  p99 {p99:8.3f}")
            warm = median(role, "warm", "added_ttft_ms", "mean")
            print(f"  added TTFT mean after the first round: {warm:.3f}")
            print(f"  CPU per chunk: {median(role, 'cpu_us_per_chunk'):.1f} us")
    ttft, cpu = (
        median("crossfade", "added_ttft_ms", "mean"),
        median("crossfade", "cpu_us_per_chunk"),
    )
    goals = [(f"crossfade added TTFT mean {ttft:.2f} ms < 3 ms", ttft < 3)]
    if results["vllm"]:
        vttft, vcpu = median("vllm", "added_ttft_ms", "mean"), median("vllm", "cpu_us_per_chunk")
        goals.append(
            (f"added TTFT mean {ttft:.2f} <= 1/3 of vLLM's {vttft:.2f}", 3 * ttft <= vttft)
        )
        goals.append((f"CPU per chunk {cpu:.1f} us <= 1/2 of vLLM's {vcpu:.1f}", 2 * cpu <= vcpu))
    rate = median("open_loop", "sent_rate_per_s")
    goals.append((f"open-loop send rate {rate:.2f}/s within 1% of 500", abs(rate - RATE) <= 5))
    for text, met in goals:
        print(f"  goal {'met   ' if met else 'MISSED'}  {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-vllm", action="store_true")
    parser.add_argument("--json", help="save every figure here")
    parser.add_argument("--profile", help="save a cProfile of an extra crossfade run here")
    for hidden in ("--role", "--address", "--rate", "--tokenizer"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "crossfade":
        rate = float(args.rate) if args.rate else None
        crossfade_child(args.address, rate, args.out, args.profile)
    elif args.role == "vllm":
        vllm_child(args.address, args.tokenizer, args.out)
    else:
        results = parent(args)
        report(results)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
