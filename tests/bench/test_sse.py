"""The sans-IO SSE parser: line endings, multi-line data, comments, and any chunk boundary."""

from __future__ import annotations

import pytest

from crossfade.bench.sse import SseEvent, SseParser

STREAM = (
    b": keep-alive\n"
    b'data: {"text_output": "a"}\n\n'
    b"event: update\nid: 7\ndata: line one\ndata: line two\n\n"
    b"data:no-space\n\n"
    b"data: caf\xc3\xa9\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    SseEvent('{"text_output": "a"}'),
    SseEvent("line one\nline two", "update", "7"),
    SseEvent("no-space", None, "7"),  # the last event id persists, as the spec says
    SseEvent("café", None, "7"),
    SseEvent("[DONE]", None, "7"),
]


def _feed_all(parser: SseParser, chunks: list[bytes]) -> list[SseEvent]:
    return [event for chunk in chunks for event in parser.feed(chunk)] + parser.close()


def test_whole_stream_in_one_chunk() -> None:
    parser = SseParser()
    assert parser.feed(STREAM) == EXPECTED
    assert not parser.has_partial


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_crlf_and_cr_line_endings(newline: bytes) -> None:
    assert _feed_all(SseParser(), [STREAM.replace(b"\n", newline)]) == EXPECTED


def test_close_drops_an_unfinished_event() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\n\ndata: cut off") == [SseEvent("a")]
    assert parser.close() == []


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_split_point_gives_the_same_events(newline: bytes) -> None:
    stream = STREAM.replace(b"\n", newline)
    for cut in range(1, len(stream)):
        assert _feed_all(SseParser(), [stream[:cut], stream[cut:]]) == EXPECTED, cut


def test_byte_by_byte() -> None:
    stream = STREAM.replace(b"\n", b"\r\n")
    assert _feed_all(SseParser(), [stream[i : i + 1] for i in range(len(stream))]) == EXPECTED


def test_cr_at_chunk_end_waits_for_a_possible_lf() -> None:
    parser = SseParser()
    assert parser.feed(b"data: x\r\n\r") == []  # CR then maybe LF: not yet a blank line
    assert parser.feed(b"\n") == [SseEvent("x")]
    assert parser.feed(b"data: y\r\r") == []
    assert parser.feed(b"data: z\r\r") == [SseEvent("y")]  # the lone CR was a line end after all


def test_event_without_blank_line_is_held_back() -> None:
    parser = SseParser()
    assert parser.feed(b"data: partial") == []
    assert parser.has_partial
    assert parser.feed(b"\n") == []
    assert parser.has_partial
    assert parser.feed(b"\n") == [SseEvent("partial")]
    assert not parser.has_partial


def test_comments_and_empty_events_dispatch_nothing() -> None:
    assert SseParser().feed(b": ping\n\n\n\nevent: x\n\nretry: 10\n\n") == []


def test_empty_data_field_and_field_without_colon() -> None:
    assert SseParser().feed(b"data\n\ndata:\ndata: b\n\n") == [SseEvent(""), SseEvent("\nb")]


def test_leading_bom_is_ignored_even_when_split() -> None:
    parser = SseParser()
    assert parser.feed(b"\xef\xbb") == []
    assert parser.feed(b"\xbfdata: x\n\n") == [SseEvent("x")]
    assert SseParser().feed(b"\xef\xbb\xbfdata: y\n\n") == [SseEvent("y")]


def test_multibyte_character_split_across_chunks() -> None:
    encoded = "data: 日本\n\n".encode()
    cut = encoded.index("本".encode()) + 1
    assert _feed_all(SseParser(), [encoded[:cut], encoded[cut:]]) == [SseEvent("日本")]


def test_only_one_space_after_the_colon_is_dropped() -> None:
    assert SseParser().feed(b"data:  two\n\n") == [SseEvent(" two")]


def test_done_sentinel() -> None:
    assert SseEvent("[DONE]").done
    assert not SseEvent('{"done": true}').done


@pytest.mark.parametrize(
    "stream",
    [
        b'data: {"a": 1}\n\n',
        b"data: \xc3\xa9t\xc3\xa9\n\n",
        b"data: two\ndata: lines\n\n",
        b"data: x\r\n\r\n",
        b"data:no-space\n\n",
        b"event: e\ndata: named\n\n",
        b": comment\n\ndata: after\n\n",
        b"data: [DONE]\n\n",
    ],
)
def test_a_whole_event_in_one_read_parses_as_it_does_byte_by_byte(stream: bytes) -> None:
    whole = SseParser().feed(stream)
    parser = SseParser()
    one_by_one = [event for i in range(len(stream)) for event in parser.feed(stream[i : i + 1])]
    assert whole == one_by_one
    assert whole


def test_the_one_event_shortcut_does_not_skip_a_pending_event_field() -> None:
    parser = SseParser()
    assert parser.feed(b"event: update\n") == []
    assert parser.feed(b"data: x\n\n") == [SseEvent("x", "update")]
