"""Seeded, reproducible workloads of `BenchRequest`s, and the file that replays them anywhere.

Sources: synthetic prompts of exact token lengths, ShareGPT JSON, or JSONL of prompts. Token
counts never include special tokens (BOS, chat template): those are the server's to add.

- `model`: the `Workload` model, its fingerprint, and the replayable JSONL file (format there).
- `lengths`: ``--input-len``/``--output-len`` distributions and seeded sampling.
- `tokens`: counting with the workload's tokenizer, synthetic prompts of exact length.
- `sources`: a `Workload` from each source (synthetic, ShareGPT, JSONL).
"""

from crossfade.bench.workload.lengths import LENGTH_FORMS, LengthSpec, parse_length
from crossfade.bench.workload.model import (
    FORMAT,
    FORMAT_VERSION,
    SAVED_LINE_FORM,
    TOKENIZER_FILES,
    Workload,
    WorkloadError,
    WorkloadFacts,
    WorkloadSource,
    tokenizer_fingerprint,
)
from crossfade.bench.workload.sources import (
    JSONL_LINE_FORM,
    jsonl_workload,
    sharegpt_workload,
    synthetic_workload,
)
from crossfade.bench.workload.tokens import MAX_REPAIR_ROUNDS, synthesize_prompts

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "JSONL_LINE_FORM",
    "LENGTH_FORMS",
    "MAX_REPAIR_ROUNDS",
    "SAVED_LINE_FORM",
    "TOKENIZER_FILES",
    "LengthSpec",
    "Workload",
    "WorkloadError",
    "WorkloadFacts",
    "WorkloadSource",
    "jsonl_workload",
    "parse_length",
    "sharegpt_workload",
    "synthesize_prompts",
    "synthetic_workload",
    "tokenizer_fingerprint",
]
