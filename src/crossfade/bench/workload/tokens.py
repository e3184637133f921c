"""Counting tokens with a workload's tokenizer, and synthetic prompts of exact token lengths.

Token counts never include special tokens (BOS, chat template): those are the server's to add.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossfade.bench.workload.model import WorkloadError

MAX_REPAIR_ROUNDS = 32


@dataclasses.dataclass(frozen=True)
class Vocab:
    tokenizer: Any
    draw_ids: npt.NDArray[np.int64]  # ids safe to draw for synthetic text
    control_ids: frozenset[int]  # special and added tokens: never inside a synthetic prompt


@functools.lru_cache(maxsize=8)
def load_tokenizer(folder: str) -> Any:
    """The tokenizer in `folder` (a fast one where the folder has it)."""
    try:
        from transformers import AutoTokenizer  # heavy; only workloads that tokenize pay for it
    except ImportError:
        raise WorkloadError(
            f"{folder}: reading a tokenizer needs transformers (pip install transformers)"
        ) from None
    try:
        return AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise WorkloadError(f"{folder}: cannot load a tokenizer ({exc})") from exc


@functools.lru_cache(maxsize=8)
def load_vocab(folder: str) -> Vocab:
    tokenizer = load_tokenizer(folder)
    control = frozenset(int(i) for i in tokenizer.all_special_ids) | frozenset(
        int(i) for i in tokenizer.get_added_vocab().values()
    )
    normal = [i for i in range(len(tokenizer)) if i not in control]
    # Prefer tokens that decode and re-encode to themselves: far fewer repairs per prompt.
    texts = tokenizer.batch_decode([[i] for i in normal], clean_up_tokenization_spaces=False)
    encoded = encode(tokenizer, texts)
    stable = [i for i, ids in zip(normal, encoded, strict=True) if ids == [i]]
    # SentencePiece-style tokenizers prefix a space when encoding, so few tokens round-trip.
    draw = stable if len(stable) >= 100 else normal
    if not draw:
        raise WorkloadError(f"{folder}: the tokenizer has no normal (non-special) tokens")
    return Vocab(tokenizer, np.asarray(draw, dtype=np.int64), control)


def encode(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
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
    vocab = load_vocab(str(tokenizer_folder))
    prompts = [""] * len(lengths)
    drafts = [rng.choice(vocab.draw_ids, size=n).tolist() for n in lengths]
    pending = list(range(len(lengths)))
    for _ in range(MAX_REPAIR_ROUNDS):
        if not pending:
            break
        texts = vocab.tokenizer.batch_decode(
            [drafts[i] for i in pending], clean_up_tokenization_spaces=False
        )
        encoded = encode(vocab.tokenizer, texts)
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
