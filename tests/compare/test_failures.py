"""How a failed level's errors are put on one line."""

from __future__ import annotations

from crossfade.bench.protocol import ErrorKind, RequestRecord
from crossfade.bench.summary import error_groups
from crossfade.compare.failures import MESSAGE_CHARS, errors_text


def failed(index: int, kind: ErrorKind, message: str) -> RequestRecord:
    record = RequestRecord(index, 10, 20, scheduled_ns=0, sent_ns=0)
    record.fail(kind, message, 1)
    return record


def test_errors_read_on_one_line_with_long_messages_cut() -> None:
    long = "HTTP 500:\n" + "x" * 400
    groups = error_groups([failed(0, ErrorKind.HTTP_STATUS, long), failed(1, ErrorKind.OTHER, "b")])
    text = errors_text(groups)
    assert "\n" not in text
    first, second = text.split("; ")
    assert first.startswith("http_status 1: HTTP 500: xxx")
    assert len(first) == len("http_status 1: ") + MESSAGE_CHARS
    assert first.endswith("\u2026")
    assert second == "other 1: b"
