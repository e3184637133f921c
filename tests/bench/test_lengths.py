"""Output lengths counted by crossfade where the server counts none (`bench.lengths`): each token
to the chunk that completed it, with a real fast tokenizer (the lab's tiny one) and a real slow
one (ByT5's, one token per UTF-8 byte), the text dropped afterwards, and what the summary says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crossfade.bench.console import length_text
from crossfade.bench.dialects.base import ParsedEvent
from crossfade.bench.lengths import count_output_lengths, tokens_per_chunk
from crossfade.bench.metrics import itl_ns, tpot_ns
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.summary import check_lengths
from crossfade.bench.tally import ResponseTally
from crossfade.lab.tiny_model import TinyModelShape, ensure_tiny_model

MS = 1_000_000


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("models")
    return ensure_tiny_model(cache, TinyModelShape(vocab_size=512, corpus_words=5000))


def streamed(so_far: list[str], requested: int = 8, index: int = 0) -> RequestRecord:
    """A record as the LLM API model's responses (the text so far, no counts) leave it, a chunk
    every ms from 10 ms."""
    record = RequestRecord(index, 4, requested, scheduled_ns=0)
    tally = ResponseTally(record)
    for at, text in enumerate(so_far, start=10):
        tally.add(ParsedEvent(text=text, text_so_far=True), at * MS)
    record.end_ns = record.chunk_ns[-1]
    return record


@pytest.mark.parametrize(
    ("chunks", "offsets", "expected"),
    [
        (["Hel", "lo", " w", "örld"], [(0, 2), (2, 5), (5, 7), (7, 11)], [1, 1, 1, 1]),
        (["Hel", "lo", " w", "örld"], [(0, 5), (5, 11)], [0, 1, 0, 1]),  # split tokens: later
        (["ab", "c"], [(0, 1), (1, 2), (2, 3)], [2, 1]),
        (["a"], [], [0]),
        (["ö", "x"], [(0, 1), (0, 1), (1, 2)], [2, 1]),  # two byte tokens of one character
    ],
)
def test_each_token_goes_to_the_chunk_that_completed_it(
    chunks: list[str], offsets: list[tuple[int, int]], expected: list[int]
) -> None:
    assert tokens_per_chunk(chunks, offsets) == expected


def _encode(folder: Path, text: str) -> list[int]:
    from transformers import AutoTokenizer

    return list(AutoTokenizer.from_pretrained(str(folder)).encode(text, add_special_tokens=False))


def test_counted_lengths_replace_one_token_per_chunk(tiny: Path) -> None:
    text = " tok tok tokens wörld"
    record = streamed([text[:4], text[:4], text[:8], text[:15], text])
    served = RequestRecord(1, 4, 3, 0, chunk_ns=[5], chunk_tokens=[3], server_output_tokens=3)
    served.chunk_text.append("kept?")  # text the server's counts made needless
    assert record.chunk_tokens == [1, 1, 1, 1]  # before counting: a token per chunk
    assert count_output_lengths([record, served], str(tiny)) == []
    total = len(_encode(tiny, text))
    assert total > 4
    assert record.counted_output_tokens == record.output_tokens == total
    assert sum(record.chunk_tokens) == total
    assert len(record.chunk_tokens) == len(record.chunk_ns)
    assert record.chunk_tokens[0] == len(_encode(tiny, " tok"))
    assert itl_ns(record).size == total - 1  # per-token figures on the counted tokens
    assert record.chunk_ns == [10 * MS, 12 * MS, 13 * MS, 14 * MS]  # 11: nothing new
    assert tpot_ns(record) == pytest.approx(4 * MS / (total - 1))
    assert (served.chunk_tokens, served.counted_output_tokens) == ([3], None)
    assert record.chunk_text == served.chunk_text == []  # counted: the text goes
    assert "chunk_text" not in record.to_json()


def test_a_slow_tokenizer_counts_each_chunk_on_its_own(tmp_path: Path) -> None:
    from transformers import ByT5Tokenizer

    ByT5Tokenizer().save_pretrained(str(tmp_path))  # no fast version: one token per byte
    record = streamed(["ab", "abö", "abö!"])
    assert count_output_lengths([record], str(tmp_path)) == []
    assert record.chunk_tokens == [2, 2, 1]
    assert record.counted_output_tokens == 5


def test_a_tokenizer_that_cannot_be_loaded_leaves_a_note(tmp_path: Path) -> None:
    record = streamed(["a", "ab"])
    notes = count_output_lengths([record], str(tmp_path / "none"))
    assert len(notes) == 1
    assert notes[0].startswith("the output of 1 requests could not be counted (")
    assert "cannot load a tokenizer" in notes[0]
    assert (record.counted_output_tokens, record.chunk_tokens, record.chunk_text) == (
        None,
        [1, 1],
        [],
    )
    check = check_lengths([record], forced=False)
    assert (check.unverifiable, check.counted, check.received_mean) == (1, 0, None)


def test_worker_batches_carry_the_text_to_be_counted() -> None:
    record = streamed(["a", "ab"])
    data: dict[str, Any] = record.to_json()
    assert data["chunk_text"] == ["a", "b"]
    assert RequestRecord.from_json(data).chunk_text == ["a", "b"]


def _counted(length: int, requested: int) -> RequestRecord:
    record = streamed(["x"], requested=requested)
    record.chunk_tokens, record.counted_output_tokens = [length], length
    return record


def test_a_length_that_could_not_be_forced_is_a_difference_not_a_failure() -> None:
    records = [_counted(8, 8), _counted(6, 8), _counted(4, 8)]
    check = check_lengths(records, forced=False)
    assert (check.verified, check.mismatched, check.unverifiable) == (1, 2, 0)
    assert (check.forced, check.counted) == (False, 3)
    assert (check.requested_mean, check.received_mean) == (8.0, 6.0)
    assert check.difference == pytest.approx(-0.25)
    assert all(record.ok for record in records)
    assert length_text(check) == (
        "1 verified, 2 mismatched, 0 unverifiable (not forced: mean 6.0 tokens for 8.0 "
        "requested, -25.0%); 3 counted with the workload's tokenizer"
    )


def test_a_forced_mismatch_is_still_flagged() -> None:
    record = RequestRecord(0, 4, 8, 0, chunk_ns=[1], chunk_tokens=[7], server_output_tokens=7)
    check = check_lengths([record])
    assert (check.mismatched, check.counted, check.received_mean) == (1, 0, 7.0)
    assert length_text(check) == (
        "0 verified, 1 mismatched, 0 unverifiable  <-- OUTPUT LENGTH MISMATCH"
    )
    assert np.isclose(check.difference or 0, -1 / 8)
