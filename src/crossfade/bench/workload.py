"""Seeded, reproducible workloads of `BenchRequest`s, and the file that replays them anywhere.

Sources: synthetic prompts of exact token lengths, ShareGPT JSON, or JSONL of prompts. Token
counts never include special tokens (BOS, chat template): those are the server's to add.

File format (JSONL, UTF-8): line 1 is a header, then one request per line, in order::

    {"format": "crossfade-workload", "version": 1, "fingerprint": "...", "count": N,
     "source": ..., "seed": ..., "tokenizer": ..., "tokenizer_fingerprint": ..., ...}
    {"index": 0, "prompt": "...", "prompt_tokens": 128, "output_tokens": 64, "stream": true}

`Workload.fingerprint()` is the first 16 hex digits of the SHA-256 of, for each request in
order, ``json.dumps([prompt, prompt_tokens, output_tokens], ensure_ascii=False) + "\\n"``.
It covers what the server is asked to do, not where it came from or the stream flag.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crossfade.bench.protocol import BenchRequest
from crossfade.errors import CrossfadeError

FORMAT, FORMAT_VERSION = "crossfade-workload", 1
LENGTH_FORMS = {
    "fixed": "N (a whole number >= 1)",
    "uniform": "uniform:A-B (whole numbers, 1 <= A <= B)",
    "normal": "normal:MEAN,STD (MEAN > 0, STD >= 0)",
    "lognormal": "lognormal:MEDIAN,SIGMA (MEDIAN > 0, SIGMA >= 0)",
}
MAX_REPAIR_ROUNDS = 32
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
_SEPARATORS = re.compile(r"[\s,]*")  # between entries of a JSON list
JSONL_LINE_FORM = 'a JSON object like {"prompt": "...", "output_tokens": 128}'
SAVED_LINE_FORM = (
    'a JSON object {"index": I, "prompt": "...", "prompt_tokens": N, "output_tokens": M, '
    '"stream": true}, numbered 0, 1, 2, ... in file order'
)


class WorkloadError(CrossfadeError, ValueError):
    """A workload that cannot be built or read; the message says where and how to fix it."""


@dataclasses.dataclass(frozen=True)
class LengthSpec:
    """A token-length distribution from ``--input-len``/``--output-len``; samples are >= 1."""

    kind: Literal["fixed", "uniform", "normal", "lognormal"]
    params: tuple[float, ...]

    def __str__(self) -> str:
        """The canonical ``--input-len`` text, which parses back to an equal spec."""
        # repr of a float round-trips exactly; whole numbers print without ".0".
        a, *rest = (str(int(p)) if float(p).is_integer() else repr(float(p)) for p in self.params)
        if self.kind == "fixed":
            return a
        return f"uniform:{a}-{rest[0]}" if self.kind == "uniform" else f"{self.kind}:{a},{rest[0]}"

    def sample(self, rng: np.random.Generator, count: int) -> list[int]:
        a, *rest = self.params
        values: npt.NDArray[Any]
        if self.kind == "fixed":
            return [int(a)] * count
        if self.kind == "uniform":
            values = rng.integers(int(a), int(rest[0]), size=count, endpoint=True)
        elif self.kind == "normal":
            values = rng.normal(a, rest[0], size=count)
        else:
            values = rng.lognormal(math.log(a), rest[0], size=count)
        return [int(v) for v in np.maximum(np.rint(values), 1)]


def parse_length(text: str) -> LengthSpec:
    """Parse ``128``, ``uniform:64-256``, ``normal:512,128`` or ``lognormal:300,0.6``."""
    kind, sep, rest = text.strip().partition(":")
    kind = kind.lower() if sep else "fixed"
    form = LENGTH_FORMS.get(kind)
    try:
        if kind == "fixed":
            fixed = int(text)
            if fixed >= 1:
                return LengthSpec("fixed", (fixed,))
        elif kind == "uniform":
            low, high = (int(part) for part in rest.split("-"))
            if 1 <= low <= high:
                return LengthSpec("uniform", (low, high))
        elif kind in ("normal", "lognormal"):
            center, spread = (float(part) for part in rest.split(","))
            if center > 0 and spread >= 0 and math.isfinite(center + spread):
                return LengthSpec(kind, (center, spread))  # type: ignore[arg-type]
    except ValueError:
        pass
    expected = form or " or ".join(LENGTH_FORMS.values())
    raise ValueError(f"length {text!r} is not understood; use {expected}")


def _as_length(spec: LengthSpec | str) -> LengthSpec:
    return spec if isinstance(spec, LengthSpec) else parse_length(spec)


def tokenizer_fingerprint(folder: str | Path) -> str:
    """SHA-256 (16 hex digits) over the tokenizer files present in `folder`."""
    digest, found = hashlib.sha256(), False
    for name in TOKENIZER_FILES:
        file = Path(folder) / name
        if file.is_file():
            digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
            found = True
    if not found:
        raise WorkloadError(f"{folder}: no tokenizer files ({', '.join(TOKENIZER_FILES)})")
    return digest.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class _Vocab:
    tokenizer: Any
    draw_ids: npt.NDArray[np.int64]  # ids safe to draw for synthetic text
    control_ids: frozenset[int]  # special and added tokens: never inside a synthetic prompt


@functools.lru_cache(maxsize=8)
def _load_vocab(folder: str) -> _Vocab:
    from transformers import AutoTokenizer  # heavy; only workloads that tokenize pay for it

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise WorkloadError(f"{folder}: cannot load a tokenizer ({exc})") from exc
    control = frozenset(int(i) for i in tokenizer.all_special_ids) | frozenset(
        int(i) for i in tokenizer.get_added_vocab().values()
    )
    normal = [i for i in range(len(tokenizer)) if i not in control]
    # Prefer tokens that decode and re-encode to themselves: far fewer repairs per prompt.
    texts = tokenizer.batch_decode([[i] for i in normal], clean_up_tokenization_spaces=False)
    encoded = _encode(tokenizer, texts)
    stable = [i for i, ids in zip(normal, encoded, strict=True) if ids == [i]]
    # SentencePiece-style tokenizers prefix a space when encoding, so few tokens round-trip.
    draw = stable if len(stable) >= 100 else normal
    if not draw:
        raise WorkloadError(f"{folder}: the tokenizer has no normal (non-special) tokens")
    return _Vocab(tokenizer, np.asarray(draw, dtype=np.int64), control)


def _encode(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids without special tokens: how a server counts a raw prompt before templating."""
    if not texts:
        return []
    batch = tokenizer(list(texts), add_special_tokens=False, return_attention_mask=False)
    return [list(ids) for ids in batch["input_ids"]]


def synthesize_prompts(
    tokenizer_folder: str | Path, lengths: Sequence[int], rng: np.random.Generator
) -> list[str]:
    """Random-token prompts that re-encode to exactly `lengths[i]` tokens each.

    Decoding random ids and encoding the text again merges or splits tokens, so each draft
    is cut back to the target or topped up with fresh ids and checked again, until it holds.
    """
    if any(n < 1 for n in lengths):
        raise ValueError("every prompt length must be at least 1 token")
    vocab = _load_vocab(str(tokenizer_folder))
    prompts = [""] * len(lengths)
    drafts = [rng.choice(vocab.draw_ids, size=n).tolist() for n in lengths]
    pending = list(range(len(lengths)))
    for _ in range(MAX_REPAIR_ROUNDS):
        if not pending:
            break
        texts = vocab.tokenizer.batch_decode(
            [drafts[i] for i in pending], clean_up_tokenization_spaces=False
        )
        encoded = _encode(vocab.tokenizer, texts)
        unfinished = []
        for i, text, ids in zip(pending, texts, encoded, strict=True):
            target = lengths[i]
            # Random text can spell a control token (e.g. "<|user|>"): cut it off there.
            cut = next((k for k, t in enumerate(ids) if t in vocab.control_ids), len(ids))
            if cut == len(ids) == target:
                prompts[i] = text
                continue
            draft = list(ids[: min(cut, target)])
            draft += rng.choice(vocab.draw_ids, size=target - len(draft)).tolist()
            drafts[i] = draft
            unfinished.append(i)
        pending = unfinished
    if pending:
        raise WorkloadError(
            f"could not build a prompt of exactly {lengths[pending[0]]} tokens with the tokenizer"
            f" in {tokenizer_folder} after {MAX_REPAIR_ROUNDS} repair rounds; try another --seed"
        )
    return prompts


class _RequestLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    index: int = Field(ge=0)
    prompt: str
    prompt_tokens: int = Field(ge=1)
    output_tokens: int = Field(ge=1)
    stream: bool = True


class _PromptLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    prompt: str = Field(min_length=1)
    output_tokens: int = Field(ge=1)
    prompt_tokens: int | None = Field(default=None, ge=1)


def _problem(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in exc.errors()
    )


class Workload(BaseModel):
    """Requests plus where they came from, so a saved workload replays on any target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str  # "synthetic", "sharegpt:<file>" or "jsonl:<file>"
    seed: int | None
    tokenizer: str  # the folder the counts were made with
    tokenizer_fingerprint: str
    input_len: str | None = None  # length specs, as given to --input-len/--output-len
    output_len: str | None = None
    skipped: int = 0  # source entries passed over (too long, no reply) while drawing
    requests: tuple[BenchRequest, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbered_in_order(self) -> Workload:
        for position, request in enumerate(self.requests):
            if request.index != position:
                raise ValueError(f"request {position} has index {request.index}")
        return self

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for r in self.requests:
            line = json.dumps([r.prompt, r.prompt_tokens, r.output_tokens], ensure_ascii=False)
            digest.update(line.encode() + b"\n")
        return digest.hexdigest()[:16]

    def tokenizer_matches(self, tokenizer_folder: str | Path) -> bool:
        """Whether `tokenizer_folder` would count these prompts as the workload does."""
        return tokenizer_fingerprint(tokenizer_folder) == self.tokenizer_fingerprint

    def save(self, path: str | Path) -> None:
        head = {"format": FORMAT, "version": FORMAT_VERSION, "fingerprint": self.fingerprint()}
        head |= {"count": len(self.requests)} | self.model_dump(exclude={"requests"})
        lines = [json.dumps(head, ensure_ascii=False)]
        lines += [json.dumps(dataclasses.asdict(r), ensure_ascii=False) for r in self.requests]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Workload:
        rows = _json_lines(path, SAVED_LINE_FORM)
        if not rows or rows[0][1].get("format") != FORMAT:
            raise WorkloadError(f"{path}:1: not a crossfade workload; make one with Workload.save")
        head = dict(rows[0][1])
        if head.pop("version", None) != FORMAT_VERSION:
            raise WorkloadError(f"{path}:1: unsupported version; this reads {FORMAT_VERSION}")
        del head["format"]
        want, count = head.pop("fingerprint", None), head.pop("count", None)
        requests: list[BenchRequest] = []
        for number, data in rows[1:]:
            try:
                row = _RequestLine.model_validate(data)
            except ValidationError as exc:
                raise WorkloadError(
                    f"{path}:{number}: {_problem(exc)}; write {SAVED_LINE_FORM}"
                ) from exc
            if row.index != len(requests):
                raise WorkloadError(
                    f"{path}:{number}: index {row.index}, expected {len(requests)}; "
                    f"write {SAVED_LINE_FORM}"
                )
            requests.append(BenchRequest(**row.model_dump()))
        try:
            workload = cls(**head, requests=tuple(requests))
        except ValidationError as exc:
            raise WorkloadError(
                f"{path}:1: bad header: {_problem(exc)}; regenerate it with Workload.save"
            ) from exc
        if count != len(requests) or want != workload.fingerprint():
            raise WorkloadError(
                f"{path}:1: the header says {count} requests, fingerprint {want}, but the file "
                f"holds {len(requests)}, fingerprint {workload.fingerprint()}: it was edited or "
                "cut short after saving; regenerate it with the same source and seed"
            )
        return workload


def _json_lines(path: str | Path, form: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; errors name the line and the form."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"{path}: cannot read it ({exc})") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkloadError(f"{path}:{number}: not JSON ({exc.msg}); write {form}") from exc
        if not isinstance(data, dict):
            raise WorkloadError(f"{path}:{number}: not a JSON object; write {form}")
        rows.append((number, data))
    return rows


def _new_workload(tokenizer_folder: str | Path, **provenance: Any) -> Workload:
    return Workload(
        tokenizer=str(tokenizer_folder),
        tokenizer_fingerprint=tokenizer_fingerprint(tokenizer_folder),
        **provenance,
    )


def _rngs(seed: int, count: int) -> list[np.random.Generator]:
    """Independent streams from one seed, so one choice changing leaves the others' draws."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(count)]


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
    inputs, outputs = _as_length(input_len), _as_length(output_len)
    input_rng, output_rng, text_rng = _rngs(seed, 3)
    prompt_lengths = inputs.sample(input_rng, num_requests)
    output_lengths = outputs.sample(output_rng, num_requests)
    prompts = synthesize_prompts(tokenizer_folder, prompt_lengths, text_rng)
    requests = zip(prompts, prompt_lengths, output_lengths, strict=True)
    return _new_workload(
        tokenizer_folder,
        source="synthetic",
        seed=seed,
        input_len=str(inputs),
        output_len=str(outputs),
        requests=tuple(BenchRequest(i, *r, stream=stream) for i, r in enumerate(requests)),
    )


def _read_sharegpt(path: str | Path) -> list[tuple[str, str] | None]:
    """(first human turn, the gpt turn after it) per entry, or None when it has no such pair."""
    form = 'a JSON list of {"conversations": [{"from": "human"|"gpt", "value": "..."}, ...]}'
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
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
    vocab = _load_vocab(str(tokenizer_folder))
    override = None if output_len is None else _as_length(output_len)
    order_rng, output_rng = _rngs(seed, 2)
    requests: list[BenchRequest] = []
    skipped = 0
    for position in order_rng.permutation(len(pairs)):
        if num_requests is not None and len(requests) == num_requests:
            break
        pair = pairs[position]
        if pair is None:
            skipped += 1
            continue
        prompt_tokens, reply_tokens = (len(ids) for ids in _encode(vocab.tokenizer, pair))
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
    return _new_workload(
        tokenizer_folder,
        source=f"sharegpt:{path}",
        seed=seed,
        output_len=None if override is None else str(override),
        skipped=skipped,
        requests=tuple(requests),
    )


def jsonl_workload(
    path: str | Path,
    tokenizer_folder: str | Path,
    num_requests: int | None = None,
    *,
    stream: bool = True,
) -> Workload:
    """One request per line, in file order: {"prompt", "output_tokens"[, "prompt_tokens"]}."""
    lines: list[_PromptLine] = []
    for number, data in _json_lines(path, JSONL_LINE_FORM)[:num_requests]:
        try:
            lines.append(_PromptLine.model_validate(data))
        except ValidationError as exc:
            raise WorkloadError(
                f"{path}:{number}: {_problem(exc)}; write {JSONL_LINE_FORM}"
            ) from exc
    if not lines:
        raise WorkloadError(f"{path}: no prompts; write one {JSONL_LINE_FORM} per line")
    vocab = _load_vocab(str(tokenizer_folder))
    uncounted = [line.prompt for line in lines if line.prompt_tokens is None]
    counts = (len(ids) for ids in _encode(vocab.tokenizer, uncounted))
    requests = tuple(
        BenchRequest(
            i,
            line.prompt,
            next(counts) if line.prompt_tokens is None else line.prompt_tokens,
            line.output_tokens,
            stream,
        )
        for i, line in enumerate(lines)
    )
    return _new_workload(tokenizer_folder, source=f"jsonl:{path}", seed=None, requests=requests)
