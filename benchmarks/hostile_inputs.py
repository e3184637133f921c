"""What a hostile config file costs: time and peak memory of `crossfade render triton` refusing it.

    .venv/bin/python benchmarks/hostile_inputs.py [--limit-mb 2048] [--timeout 60]

Each case runs the CLI in its own process under an address-space limit (so a regression fails
inside the limit instead of taking the machine down) and a timeout; the time is the whole
command's (Python's start included) and the peak resident set size is that process's own, from
wait4. A case the CLI handled within its limits is then loaded in this process too: the best of
three `load_spec` times and the peak of Python allocations (tracemalloc) during one. Goal: each
refused in under a second with under 100 MB, with exit 2 and a message naming the file and,
where it has one, the line.

Then the SSE parser, in process: a long line arriving in many reads (each read used to rescan,
and its line regex backtracked over, everything held so far) and one past the parser's bound.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from crossfade.bench.sse import MAX_EVENT_BYTES, SseError, SseParser
from crossfade.errors import SpecError
from crossfade.spec import load_spec
from crossfade.spec.example import EXAMPLE_SPEC

MB = 1024 * 1024


def valid_spec() -> str:
    return EXAMPLE_SPEC


def nested_aliases() -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings when expanded."""
    lines = [EXAMPLE_SPEC, "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"x{level}: &a{level} [{refs}]\n")
    return "".join(lines)


def brackets() -> str:
    return EXAMPLE_SPEC + "x: " + "[" * 100_000 + "\n"


def block_nesting() -> str:
    return EXAMPLE_SPEC + "x:\n" + "".join(" " * depth + f"k{depth}:\n" for depth in range(1, 500))


def self_alias() -> str:
    return EXAMPLE_SPEC + "x: &loop [*loop]\n"


def many_values() -> str:
    """Just under the size bound, written out: 330,000 list items."""
    return EXAMPLE_SPEC + "x: [" + "1, " * 330_000 + "1]\n"


def oversized() -> str:
    return EXAMPLE_SPEC + "# " + "x" * (2 * MB) + "\n"


CASES: dict[str, Callable[[], str]] = {
    "example spec (baseline)": valid_spec,
    "nested aliases (9 x 9)": nested_aliases,
    "100k nested brackets": brackets,
    "500 nested block keys": block_nesting,
    "alias inside itself": self_alias,
    "330k values (1 MB)": many_values,
    "2 MB file": oversized,
}


def run_case(text: str, folder: Path, limit_mb: int, timeout: float) -> tuple[float, int, int, str]:
    spec = folder / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    limit = limit_mb * MB

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    argv = [sys.executable, "-m", "crossfade", "render", "triton", str(spec), "-o", "out"]
    stderr = (folder / "stderr").open("w+b")  # a file, not a pipe: a long traceback never blocks
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=folder, stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=bounded
    )
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.send_signal(signal.SIGKILL)
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    stderr.seek(0)
    message = stderr.read().decode("utf-8", "replace").strip().splitlines()
    stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss * 1024, process.returncode, message[-1] if message else ""


def load_in_process(spec: Path) -> tuple[float, int]:
    """Best of three `load_spec` times, and the allocation peak of one."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        with contextlib.suppress(SpecError):
            load_spec(spec)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    with contextlib.suppress(SpecError):
        load_spec(spec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), peak


def feed_long_line(size: int, read: int) -> tuple[float, int, str]:
    """Feed `data: ` and `size` bytes of one line in reads of `read` bytes, then its end."""
    parser = SseParser()
    piece = bytearray(b"x" * read)  # each read a new bytes object, as from a socket
    tracemalloc.start()
    start = time.perf_counter()
    outcome = "ok"
    try:
        parser.feed(b"data: ")
        for _ in range(size // read):
            parser.feed(bytes(piece))
        parser.feed(b"\n\n")
    except SseError as exc:
        outcome = f"SseError: {exc}"
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak, outcome


def sse_cases() -> None:
    print(f"\n{'SSE line':<36} {'time ms':>8} {'alloc MB':>8}  outcome")
    for label, size, read in [
        ("64 KiB in one read", 64 * 1024, 64 * 1024),
        ("64 KiB in 1 KiB reads", 64 * 1024, 1024),
        ("4 MiB in 4 KiB reads", 4 * MB, 4096),
        (
            f"{MAX_EVENT_BYTES // MB + 1} MiB in 64 KiB reads (past the bound)",
            MAX_EVENT_BYTES + MB,
            65536,
        ),
    ]:
        elapsed, peak, outcome = feed_long_line(size, read)
        print(f"{label:<36} {elapsed * 1000:>8.1f} {peak / MB:>8.1f}  {outcome}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mb", type=int, default=2048, help="address-space limit per run")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    args = parser.parse_args()
    print(f"{'case':<25} {'exit':>4} {'CLI s':>6} {'RSS MB':>6} {'load ms':>7} {'alloc MB':>8}")
    messages = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES.items():
            text = make()
            elapsed, rss, code, message = run_case(text, Path(tmp), args.limit_mb, args.timeout)
            spec = Path(tmp) / "spec.yaml"
            load, alloc = load_in_process(spec) if code in (0, 2) else (float("nan"), 0)
            print(
                f"{name:<25} {code:>4} {elapsed:>6.2f} {rss / MB:>6.1f} "
                f"{load * 1000:>7.1f} {alloc / MB:>8.2f}"
            )
            messages.append(f"{name}: {message.replace(tmp, '')}" if message else "")
    print("\n".join(m for m in messages if m))
    sse_cases()


if __name__ == "__main__":
    main()
