"""Output lengths the server does not count (TensorRT-LLM's LLM API model returns text only),
counted by crossfade with the workload's tokenizer once the run is over.

While a request streams, each chunk with text counts one token and keeps its text
(`RequestRecord.chunk_text`, see `bench.tally`): nothing is tokenised on the measured path.
After the run, `count_output_lengths` tokenises each response's whole text once (one batched
call for all of them) and gives every token to the chunk in which its last character arrived,
so `chunk_tokens` (and with them ITL, TPOT and output tokens/s) and the request's length
(`counted_output_tokens`) hold real token counts. A tokenizer without character offsets (a
slow one) counts each chunk's text on its own instead, the length being their sum. Then the
text goes: saved records have none.

The count is the workload tokenizer's reading of the text, as for the prompts: without the
special tokens, and a model that generated a token sequence its tokenizer would not produce
from that text is counted as the tokenizer reads it (a few tokens apart, rarely).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from crossfade.bench.protocol import RequestRecord
from crossfade.bench.workload.model import WorkloadError
from crossfade.bench.workload.tokens import encode, load_tokenizer


def count_output_lengths(records: Sequence[RequestRecord], tokenizer_folder: str) -> list[str]:
    """Count the output of every record that kept its text (see the module doc), then drop the
    text; the notes for the result (a tokenizer that cannot be loaded leaves one chunk per
    token and says so)."""
    pending = [
        r
        for r in records
        if r.chunk_text and r.server_output_tokens is None and len(r.chunk_text) == len(r.chunk_ns)
    ]
    try:
        if pending:
            count_with(load_tokenizer(tokenizer_folder), pending)
    except WorkloadError as exc:
        return [
            f"the output of {len(pending)} requests could not be counted ({exc}): their "
            "lengths are their chunks with text, their length checks unverifiable"
        ]
    finally:
        for record in records:
            record.chunk_text.clear()
    return []


def count_with(tokenizer: Any, records: Sequence[RequestRecord]) -> None:
    """Set each record's `chunk_tokens` and `counted_output_tokens` from its `chunk_text`."""
    if not getattr(tokenizer, "is_fast", False):  # no offsets: each chunk's text on its own
        pieces = [piece for record in records for piece in record.chunk_text]
        counts = iter([len(ids) for ids in encode(tokenizer, pieces)])
        for record in records:
            _set(record, [next(counts) for _ in record.chunk_text])
        return
    texts = ["".join(record.chunk_text) for record in records]
    # The Rust tokenizer itself: half the cost of the Python wrapper's lists, the same tokens
    encodings = tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False)
    for record, encoding in zip(records, encodings, strict=True):
        _set(record, tokens_per_chunk(record.chunk_text, encoding.offsets))


def tokens_per_chunk(chunks: Sequence[str], offsets: Sequence[Any]) -> list[int]:
    """How many of a text's tokens (their (start, end) character offsets) end in each of the
    chunks it arrived in: a token split across chunks belongs to the one that completed it."""
    ends = np.cumsum([len(chunk) for chunk in chunks])
    token_ends = np.fromiter((end for _, end in offsets), dtype=np.int64, count=len(offsets))
    owner = np.minimum(np.searchsorted(ends, token_ends, side="left"), len(chunks) - 1)
    return [int(n) for n in np.bincount(owner, minlength=len(chunks))]


def _set(record: RequestRecord, counts: list[int]) -> None:
    record.chunk_tokens = counts
    record.counted_output_tokens = sum(counts)
