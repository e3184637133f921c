"""How parsed events become a record's chunks and counts (`ResponseTally`), and the tokens it
reports for each event (what a relay passes on)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crossfade.bench.dialects.base import ParsedEvent, ServerTimes
from crossfade.bench.protocol import RequestRecord
from crossfade.bench.tally import ResponseTally
from tests.support.fuzz import fuzz


def _tally(events: list[ParsedEvent]) -> tuple[RequestRecord, list[int]]:
    record = RequestRecord(index=0, prompt_tokens=2, requested_output_tokens=3, scheduled_ns=0)
    tally = ResponseTally(record)
    reported = [tally.add(event, at) for at, event in enumerate(events, start=100)]
    return record, reported


def test_triton_counts_are_summed_and_held_back_text_is_no_chunk() -> None:
    record, reported = _tally(
        [
            ParsedEvent(text="heal", tokens=1, input_tokens=4),
            ParsedEvent(text="", tokens=2, input_tokens=4),  # text held back by the BLS
            ParsedEvent(text="ő"),  # the held-back text, its tokens already counted
        ]
    )
    assert (record.chunk_ns, record.chunk_tokens) == ([100, 101], [1, 2])
    assert (record.server_output_tokens, record.server_input_tokens) == (3, 4)
    assert record.output_chars == 5
    assert reported == [1, 2, 0]


def test_openai_continuous_usage_gives_per_chunk_differences() -> None:
    record, reported = _tally(
        [
            ParsedEvent(text="", cumulative_tokens=0, input_tokens=8),  # the role chunk
            ParsedEvent(text="", cumulative_tokens=1),  # a token whose text is held back
            ParsedEvent(text="ab", cumulative_tokens=3, final=True),
            ParsedEvent(cumulative_tokens=3, summary=True),
        ]
    )
    assert (record.chunk_ns, record.chunk_tokens) == ([101, 102], [1, 2])
    assert record.server_output_tokens == 3
    assert reported == [0, 1, 2, 0]


def test_openai_without_continuous_usage_counts_one_per_text_chunk() -> None:
    record, reported = _tally(
        [
            ParsedEvent(text="a"),
            ParsedEvent(text=""),
            ParsedEvent(text="b", final=True),
            ParsedEvent(cumulative_tokens=3, input_tokens=2, summary=True),
        ]
    )
    assert (record.chunk_ns, record.chunk_tokens) == ([100, 102], [1, 1])
    assert record.server_output_tokens == 3  # the server's total, verified against the request
    assert record.server_input_tokens == 2
    assert reported == [1, 0, 1, 0]


def test_no_server_counts_at_all() -> None:
    """One token per chunk with text, its text kept for `bench.lengths` to count."""
    record, reported = _tally([ParsedEvent(text="a"), ParsedEvent(text=""), ParsedEvent(text="b")])
    assert record.chunk_tokens == [1, 1]
    assert record.chunk_text == ["a", "b"]
    assert record.server_output_tokens is None
    assert reported == [1, 0, 1]


def test_text_is_kept_only_while_the_server_counts_nothing() -> None:
    record, _ = _tally([ParsedEvent(text="a", tokens=1), ParsedEvent(text="b")])
    assert record.chunk_text == []


def test_text_so_far_becomes_the_new_text_of_each_event() -> None:
    """The LLM API model's text_output is the whole text so far: the record, and whoever relays
    the event after the tally (the router), see only what is new in it."""
    record = RequestRecord(index=0, prompt_tokens=2, requested_output_tokens=3, scheduled_ns=0)
    tally = ResponseTally(record)
    relayed = []
    for at, so_far in enumerate(["Hel", "Hello", "Hello", "Hello w", "Hello wörld"], start=100):
        event = ParsedEvent(text=so_far, text_so_far=True)
        tally.add(event, at)
        relayed.append(event.text)
    assert relayed == ["Hel", "lo", "", " w", "örld"]
    assert record.chunk_text == ["Hel", "lo", " w", "örld"]
    assert (record.chunk_ns, record.chunk_tokens) == ([100, 101, 103, 104], [1, 1, 1, 1])
    assert record.output_chars == len("Hello wörld")


@fuzz(examples=300)
@given(text=st.text(max_size=40), cuts=st.lists(st.integers(0, 40), max_size=12))
def test_the_new_parts_of_a_growing_text_add_up_to_it(text: str, cuts: list[int]) -> None:
    ends = [*sorted(min(cut, len(text)) for cut in cuts), len(text)]
    record, reported = _tally([ParsedEvent(text=text[:end], text_so_far=True) for end in ends])
    assert "".join(record.chunk_text) == text
    assert all(record.chunk_text)  # a response that brought nothing new is no chunk
    assert sum(reported) == len(record.chunk_ns) == len(set(ends) - {0})


def test_a_running_total_that_goes_back_is_no_chunk() -> None:
    record, reported = _tally(
        [ParsedEvent(text="ab", cumulative_tokens=2), ParsedEvent(text="c", cumulative_tokens=1)]
    )
    assert record.chunk_tokens == [2]
    assert reported == [2, 0]


def test_the_servers_own_timestamps_reach_the_record_and_the_saved_line() -> None:
    """The last event that reports them wins (it has every milestone); a record saved with them
    reads back with them."""
    record = RequestRecord(0, 4, 8, scheduled_ns=0)
    tally = ResponseTally(record)
    early = ServerTimes(arrival_ns=10, first_scheduled_ns=12, first_token_ns=20, last_token_ns=20)
    late = ServerTimes(arrival_ns=10, first_scheduled_ns=12, first_token_ns=20, last_token_ns=90)
    tally.add(ParsedEvent(text="a", server_times=early), 100)
    tally.add(ParsedEvent(text="b"), 200)
    assert record.server_times == early
    tally.add(ParsedEvent(text="c", server_times=late), 300)
    assert record.server_times == late
    assert RequestRecord.from_json(record.to_json()).server_times == late
