"""`crossfade calibrate`: the benchmark client's own overhead, measured against a ground-truth
server whose timing is known (see `crossfade.bench.calibration`)."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossfade.bench.calibration_model import LevelFigures

COLUMNS = (
    "streams",
    "chunk/s",
    "+TTFT\nmean",
    "+TTFT\np99",
    "send\np99",
    "recv\np99",
    "ITL err\nmean",
    "ITL err\np99",
    "clean",
)


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,16,64, got {text!r}") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("concurrency levels must be whole numbers >= 1")
    return levels


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--levels", type=_levels, default=[1, 16, 64, 128], help="concurrency levels (1,16,64,128)"
    )
    parser.add_argument("--tokens", type=int, default=64, help="output tokens per request (64)")
    parser.add_argument("--ttft-ms", type=float, default=50.0, help="server's TTFT, ms (50)")
    parser.add_argument("--itl-ms", type=float, default=10.0, help="server's token gap, ms (10)")
    parser.add_argument(
        "--requests-per-level",
        type=int,
        metavar="N",
        help="requests per level (default: 4 x level, at least 32; the first round is warm-up)",
    )
    parser.add_argument("--max-added-ttft-ms", type=float, default=5.0, help="clean: p99 under")
    parser.add_argument("--max-itl-error-ms", type=float, default=2.0, help="clean: p99 under")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="default: ~/.cache/crossfade/calibration.json"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.box import SIMPLE
    from rich.console import Console
    from rich.table import Table

    from crossfade.bench.calibration import calibrate, save_calibration
    from crossfade.bench.calibration_model import Thresholds
    from crossfade.errors import UsageError

    if args.tokens < 1 or (args.requests_per_level is not None and args.requests_per_level < 1):
        raise UsageError("--tokens and --requests-per-level must be at least 1")
    times = {
        "--ttft-ms": args.ttft_ms,
        "--itl-ms": args.itl_ms,
        "--max-added-ttft-ms": args.max_added_ttft_ms,
        "--max-itl-error-ms": args.max_itl_error_ms,
    }
    for flag, value in times.items():
        if not 0 <= value < math.inf:  # nan fails too
            raise UsageError(f"{flag} {value:g}: give milliseconds, 0 or more")
    output = Path(args.output) if args.output else None
    if output is not None and output.is_dir():  # checked now: the measurement takes minutes
        raise UsageError(
            f"-o {output}: a folder; give the file to write, e.g. -o {output / 'calibration.json'}"
        )
    console = Console()
    table = Table(
        title="client overhead against the ground-truth server (ms)", box=SIMPLE, pad_edge=False
    )
    for column in COLUMNS:
        table.add_column(column, justify="right")

    def on_level(level: LevelFigures) -> None:
        streams = level.concurrency
        plural = "" if streams == 1 else "s"
        console.print(f"  {streams} stream{plural}: {level.joined} requests measured")
        table.add_row(
            str(level.concurrency),
            f"{level.chunk_rate_per_s:.0f}",
            _ms(level.added_ttft_ms.mean),
            _ms(level.added_ttft_ms.p99),
            _ms(level.send_ms.p99),
            _ms(level.receive_ms.p99),
            _ms(level.itl_error_ms.mean),
            _ms(level.itl_error_ms.p99),
            "yes" if level.clean else "no",
        )

    thresholds = Thresholds(
        added_ttft_p99_ms=args.max_added_ttft_ms, itl_error_p99_ms=args.max_itl_error_ms
    )
    console.print(f"calibrating at {','.join(map(str, args.levels))} concurrent streams ...")
    data = calibrate(
        args.levels,
        args.tokens,
        args.ttft_ms,
        args.itl_ms,
        args.requests_per_level,
        thresholds,
        on_level=on_level,
    )
    console.print(table)
    rate, streams = data.max_clean_chunk_rate_per_s, data.max_clean_concurrency
    if rate is None:
        console.print(
            "no level was clean: added TTFT or ITL error passed the limits at every level"
        )
    else:
        console.print(f"largest clean chunk rate: {rate:.0f} chunks/s (at {streams} in flight)")
    load = ", ".join(f"{x:.2f}" for x in data.machine.load_average)
    console.print(f"machine load average at the end (1, 5, 15 min): {load}")
    try:
        path = save_calibration(data, output)
    except OSError as exc:
        raise UsageError(f"-o {exc.filename}: cannot write it ({exc.strerror})") from None
    print(f"saved {path}")
    return 0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
