"""What counting output lengths costs, for targets whose server counts none (the LLM API model).

    .venv/bin/python benchmarks/length_counting.py [--requests N] [--tokens N] [--tokenizer DIR]

Three figures:
- the tally's cost per streamed event (the hot path): a Triton event with the server's count,
  an event of new text without counts (its text kept), and the LLM API model's text so far
  (cut to its new part, then kept);
- counting after the run (what `bench.lengths` does: one batched call over every response,
  tokens given to chunks by their offsets) against counting each request as it completes (one
  call per request, on the event loop while other requests stream), in total and per request;
- the text kept per request until the run ends.

The tokenizer is the lab's tiny one unless --tokenizer names another folder. Goal: the two
text events cost at most 1 us more than the counted one, and counting after the run is cheaper
than counting at completion.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from crossfade.bench.dialects.base import ParsedEvent
from crossfade.bench.lengths import count_with
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.tally import ResponseTally
from crossfade.bench.workload.tokens import load_tokenizer

WORD = " tok"


def per_event_ns(kind: str, tokens: int, repeats: int) -> float:
    """Mean ns per `ResponseTally.add` over `repeats` requests of `tokens` events."""
    texts = [WORD * (k + 1) for k in range(tokens)] if kind == "so_far" else [WORD] * tokens
    total = 0
    for _ in range(repeats):
        record = RequestRecord(0, 1, tokens, 0)
        tally = ResponseTally(record)
        if kind == "counted":
            events = [ParsedEvent(text=WORD, tokens=1) for _ in texts]
        else:
            events = [ParsedEvent(text=t, text_so_far=kind == "so_far") for t in texts]
        started = time.perf_counter_ns()
        for at, event in enumerate(events):
            tally.add(event, at)
        total += time.perf_counter_ns() - started
    return total / (repeats * tokens)


def streamed_records(requests: int, tokens: int) -> list[RequestRecord]:
    records = []
    for index in range(requests):
        record = RequestRecord(index, 1, tokens, 0)
        tally = ResponseTally(record)
        for at in range(tokens):
            tally.add(ParsedEvent(text=WORD), at)
        records.append(record)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--tokenizer", type=Path)
    args = parser.parse_args()
    folder = args.tokenizer
    if folder is None:
        from crossfade.lab.tiny_model import ensure_tiny_model

        folder = ensure_tiny_model(Path(tempfile.gettempdir()) / "crossfade-bench-models")
    tokenizer = load_tokenizer(str(folder))
    print(f"tokenizer {folder} ({type(tokenizer).__name__}, {len(tokenizer)} tokens)")

    print(f"tally, ns per event ({args.tokens}-event streams):")
    for kind in ("counted", "text", "so_far"):
        print(f"  {kind:8} {per_event_ns(kind, args.tokens, 200):7.0f}")

    records = streamed_records(args.requests, args.tokens)
    kept = sum(sum(len(p) for p in r.chunk_text) for r in records) / len(records)
    print(f"text kept per request until the run ends: {kept:.0f} characters")
    started = time.perf_counter()
    count_with(tokenizer, records)
    after = time.perf_counter() - started
    records = streamed_records(args.requests, args.tokens)
    started = time.perf_counter()
    for record in records:
        count_with(tokenizer, [record])
    each = time.perf_counter() - started
    n = args.requests
    print(f"counting {n} requests of {args.tokens} chunks:")
    print(f"  after the run, one batch  {after * 1e3:8.1f} ms ({after / n * 1e6:6.0f} us/request)")
    print(f"  at each completion        {each * 1e3:8.1f} ms ({each / n * 1e6:6.0f} us/request)")
    sys.exit(0 if after < each else 1)


if __name__ == "__main__":
    main()
