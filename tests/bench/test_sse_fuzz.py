"""Fuzzing the SSE parser: any bytes in any chunks give events and never an exception; events
written out come back whole however the stream is cut; a stream past the bound is refused."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossfade.bench.sse import MAX_EVENT_BYTES, SseError, SseEvent, SseParser
from tests.support.fuzz import fuzz

LINE_ENDS = [b"\n", b"\r\n", b"\r"]
line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)


def feed_in_chunks(stream: bytes, cuts: list[int]) -> list[SseEvent]:
    parser = SseParser()
    events: list[SseEvent] = []
    edges = [0, *sorted(cuts), len(stream)]
    for start, end in itertools.pairwise(edges):
        events += parser.feed(stream[start:end])
    return events + parser.close()


@st.composite
def cut_stream(draw: st.DrawFn, stream: bytes) -> list[int]:
    return draw(st.lists(st.integers(0, len(stream)), max_size=8))


@fuzz(examples=1500)
@given(
    stream=st.binary(max_size=200)
    | st.lists(
        st.sampled_from(
            [
                b"data",
                b"data:",
                b": ",
                b"event:",
                b"id:",
                b"\0",
                b"x",
                b"\xff",
                b"\xef\xbb\xbf",
                *LINE_ENDS,
            ]
        ),
        max_size=30,
    ).map(b"".join),
    data=st.data(),
)
def test_any_bytes_cut_anywhere_give_the_events_of_one_read(
    stream: bytes, data: st.DataObject
) -> None:
    whole = feed_in_chunks(stream, [])
    assert feed_in_chunks(stream, data.draw(cut_stream(stream))) == whole
    assert all(isinstance(e.data, str) for e in whole)


@dataclass(frozen=True)
class Written:
    data: list[str]
    event: str | None
    id: str | None


written_events = st.builds(
    Written,
    data=st.lists(line_text, min_size=1, max_size=3),
    event=st.none() | line_text,
    id=st.none() | st.text(st.characters(codec="utf-8", exclude_characters="\r\n\0"), max_size=6),
)


@fuzz(examples=1000)
@given(
    events=st.lists(written_events, max_size=5),
    ends=st.lists(st.sampled_from(LINE_ENDS), min_size=1),
    comments=st.booleans(),
    bom=st.booleans(),
    data=st.data(),
)
def test_events_written_out_come_back_however_the_stream_is_cut(
    events: list[Written], ends: list[bytes], comments: bool, bom: bool, data: st.DataObject
) -> None:
    lines: list[str] = []
    expected: list[SseEvent] = []
    last_id: str | None = None
    for event in events:
        if comments:
            lines.append(": keep-alive")
        if event.event is not None:
            lines.append(f"event: {event.event}")
        if event.id is not None:
            lines.append(f"id: {event.id}")
            last_id = event.id
        lines += [f"data: {text}" for text in event.data]
        lines.append("")
        expected.append(SseEvent("\n".join(event.data), event.event, last_id))
    stream = b"\xef\xbb\xbf" if bom else b""
    for number, line in enumerate(lines):
        end = ends[number % len(ends)]
        if not line and end == b"\n" and stream.endswith(b"\r"):
            end = b"\r\n"  # CR, then LF alone, would be one CRLF: one line end, not two
        stream += line.encode() + end
    assert feed_in_chunks(stream, data.draw(cut_stream(stream))) == expected


def test_a_line_past_the_bound_is_refused_without_holding_more_than_the_bound() -> None:
    parser = SseParser()
    piece = b"x" * (1024 * 1024)
    assert parser.feed(b"data: ") == []
    for _ in range(MAX_EVENT_BYTES // len(piece) - 1):
        assert parser.feed(piece) == []
    with pytest.raises(SseError, match="a line of over 8,388,608 bytes without its end"):
        parser.feed(piece)


def test_an_event_of_many_data_lines_past_the_bound_is_refused() -> None:
    line = b"data: " + b"y" * (1024 * 1024 - 1) + b"\n"
    parser = SseParser()
    for _ in range(7):
        assert parser.feed(line) == []
    with pytest.raises(SseError, match="an event of over 8,388,608 bytes of data"):
        parser.feed(line + line)


def test_a_line_arriving_in_many_reads_is_held_as_its_reads() -> None:
    parser = SseParser()
    parser.feed(b"data: ")
    for _ in range(1000):
        parser.feed(b"z" * 100)
    assert parser.feed(b"\n\n") == [SseEvent("z" * 100_000)]
