"""Building a `Workload` from each source: synthetic prompts, ShareGPT JSON, or JSONL of prompts.
Every draw is seeded, so the same source and seed give the same workload."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crossfade.bench.protocol import BenchRequest
from crossfade.bench.workload.lengths import LengthSpec, as_length, rngs
from crossfade.bench.workload.model import (
    Workload,
    WorkloadError,
    json_lines,
    new_workload,
    problem,
)
from crossfade.bench.workload.tokens import encode, load_vocab, synthesize_prompts
from crossfade.saved import parse_json

_SEPARATORS = re.compile(r"[\s,]*")  # between entries of a JSON list
JSONL_LINE_FORM = 'a JSON object like {"prompt": "...", "output_tokens": 128}'


def synthetic_workload(
    tokenizer_folder: str | Path,
    num_requests: int,
    input_len: LengthSpec | str,
    output_len: LengthSpec | str,
    *,
    seed: int = 0,
    stream: bool = True,
) -> Workload:
    """Random-token prompts of exactly the sampled input lengths (see `synthesize_prompts`)."""
    if num_requests < 1:
        raise ValueError(f"a workload needs at least 1 request, got {num_requests}")
    inputs, outputs = as_length(input_len), as_length(output_len)
    input_rng, output_rng, text_rng = rngs(seed, 3)
    prompt_lengths = inputs.sample(input_rng, num_requests)
    output_lengths = outputs.sample(output_rng, num_requests)
    prompts = synthesize_prompts(tokenizer_folder, prompt_lengths, text_rng)
    requests = zip(prompts, prompt_lengths, output_lengths, strict=True)
    return new_workload(
        tokenizer_folder,
        source="synthetic",
        seed=seed,
        input_len=str(inputs),
        output_len=str(outputs),
        requests=tuple(BenchRequest(i, *r, stream=stream) for i, r in enumerate(requests)),
    )


# --- ShareGPT -----------------------------------------------------------------------------


def _read_sharegpt(path: str | Path) -> list[tuple[str, str] | None]:
    """(first human turn, the gpt turn after it) per entry, or None when it has no such pair."""
    form = 'a JSON list of {"conversations": [{"from": "human"|"gpt", "value": "..."}, ...]}'
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = parse_json(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"{path}: cannot read it ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise WorkloadError(f"{path}:{exc.lineno}: not JSON ({exc.msg}); write {form}") from exc
    if not isinstance(data, list):
        raise WorkloadError(f"{path}: not a ShareGPT file; write {form}")
    pairs: list[tuple[str, str] | None] = []
    for number, entry in enumerate(data):
        turns = entry.get("conversations") if isinstance(entry, dict) else None
        if not isinstance(turns, list) or not all(
            isinstance(t, dict)
            and isinstance(t.get("from"), str)
            and isinstance(t.get("value"), str)
            for t in turns
        ):
            line = _entry_line(text, number)
            raise WorkloadError(f"{path}:{line}: entry {number} is malformed; write {form}")
        roles = [t["from"] for t in turns]
        human = roles.index("human") if "human" in roles else len(roles)
        has_reply = human + 1 < len(roles) and roles[human + 1] == "gpt"
        pairs.append((turns[human]["value"], turns[human + 1]["value"]) if has_reply else None)
    return pairs


def _entry_line(text: str, number: int) -> int:
    """The line where entry `number` of a top-level JSON list starts (for error messages)."""
    decoder, position, start = json.JSONDecoder(), text.index("[") + 1, 0
    for _ in range(number + 1):
        # The pattern may match nothing, so it always matches.
        start = _SEPARATORS.match(text, position).end()  # type: ignore[union-attr]
        position = decoder.raw_decode(text, start)[1]
    return text.count("\n", 0, start) + 1


def sharegpt_workload(
    path: str | Path,
    tokenizer_folder: str | Path,
    num_requests: int | None = None,
    *,
    seed: int = 0,
    output_len: LengthSpec | str | None = None,
    max_prompt_tokens: int | None = None,
    max_total_tokens: int | None = None,
    stream: bool = True,
) -> Workload:
    """ShareGPT conversations drawn in a seeded order (all of them when `num_requests` is None).

    The prompt is the first human turn; the output length is the token count of the gpt turn
    after it, or a draw from `output_len`. Entries without such a reply, or with a prompt over
    `max_prompt_tokens` or prompt + output over `max_total_tokens`, are skipped and counted.
    """
    pairs = _read_sharegpt(path)
    vocab = load_vocab(str(tokenizer_folder))
    override = None if output_len is None else as_length(output_len)
    order_rng, output_rng = rngs(seed, 2)
    requests: list[BenchRequest] = []
    skipped = 0
    for position in order_rng.permutation(len(pairs)):
        if num_requests is not None and len(requests) == num_requests:
            break
        pair = pairs[position]
        if pair is None:
            skipped += 1
            continue
        prompt_tokens, reply_tokens = (len(ids) for ids in encode(vocab.tokenizer, pair))
        output_tokens = reply_tokens if override is None else override.sample(output_rng, 1)[0]
        too_long = prompt_tokens > (max_prompt_tokens or math.inf) or (
            prompt_tokens + output_tokens > (max_total_tokens or math.inf)
        )
        if too_long or min(prompt_tokens, output_tokens) < 1:
            skipped += 1
            continue
        requests.append(BenchRequest(len(requests), pair[0], prompt_tokens, output_tokens, stream))
    if not requests or len(requests) < (num_requests or 0):
        raise WorkloadError(
            f"{path}: {len(requests)} usable entries, {num_requests or 'at least 1'} asked for "
            f"({skipped} skipped: no gpt reply after the first human turn, or over the length "
            "limits); ask for fewer requests or raise --max-prompt-tokens/--max-total-tokens"
        )
    return new_workload(
        tokenizer_folder,
        source=f"sharegpt:{path}",
        seed=seed,
        output_len=None if override is None else str(override),
        skipped=skipped,
        requests=tuple(requests),
    )


# --- JSONL of prompts ---------------------------------------------------------------------


class _PromptLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    prompt: str = Field(min_length=1)
    output_tokens: int | None = Field(default=None, ge=1)
    prompt_tokens: int | None = Field(default=None, ge=1)


def jsonl_workload(
    path: str | Path,
    tokenizer_folder: str | Path,
    num_requests: int | None = None,
    *,
    output_len: LengthSpec | str | None = None,
    seed: int = 0,
    stream: bool = True,
) -> Workload:
    """One request per line, in file order: {"prompt"[, "output_tokens"][, "prompt_tokens"]}.

    A line without "output_tokens" gets a seeded draw from `output_len` (``--output-len``);
    without `output_len`, every line must give it."""
    fill = None if output_len is None else as_length(output_len)
    lines: list[_PromptLine] = []
    for number, data in json_lines(path, JSONL_LINE_FORM)[:num_requests]:
        try:
            line = _PromptLine.model_validate(data)
        except ValidationError as exc:
            raise WorkloadError(
                f"{path}:{number}: {problem(exc)}; write {JSONL_LINE_FORM}"
            ) from exc
        if line.output_tokens is None and fill is None:
            raise WorkloadError(
                f"{path}:{number}: no output_tokens; give it on every line, or give "
                "--output-len for the lines without one"
            )
        lines.append(line)
    if not lines:
        raise WorkloadError(f"{path}: no prompts; write one {JSONL_LINE_FORM} per line")
    vocab = load_vocab(str(tokenizer_folder))
    uncounted = [line.prompt for line in lines if line.prompt_tokens is None]
    counts = (len(ids) for ids in encode(vocab.tokenizer, uncounted))
    missing = sum(line.output_tokens is None for line in lines)
    drawn = iter(fill.sample(rngs(seed, 1)[0], missing) if fill is not None else [])
    requests = tuple(
        BenchRequest(
            i,
            line.prompt,
            next(counts) if line.prompt_tokens is None else line.prompt_tokens,
            next(drawn) if line.output_tokens is None else line.output_tokens,
            stream,
        )
        for i, line in enumerate(lines)
    )
    provenance = {"output_len": str(fill)} if missing and fill is not None else {}
    seeded = seed if missing else None  # the file alone decides: no draw, no seed
    return new_workload(
        tokenizer_folder, source=f"jsonl:{path}", seed=seeded, requests=requests, **provenance
    )
