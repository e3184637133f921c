"""Fuzzing the readers of saved documents (result.json, requests.jsonl, sweep.json,
comparison.json) and what reads a whole saved sweep (the report's loader, compare's analysis):
a file edited by hand, cut short or corrupted gives a result or a CrossfadeError that names it,
never another exception."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from crossfade.bench.results import load_records, load_result
from crossfade.bench.sweep_index import load_sweep
from crossfade.compare.analysis import analyse_sweep
from crossfade.compare.model import load_comparison
from crossfade.errors import CrossfadeError
from crossfade.report.data import load_report
from tests.report.saved import save_sweep_folder
from tests.support.fuzz import fuzz, json_values, mutated

RUN = "runs/run-000"
READERS: dict[str, Callable[[Path], Any]] = {
    f"{RUN}/result.json": load_result,
    "sweep.json": load_sweep,
    "comparison.json": load_comparison,
}


@pytest.fixture(scope="module")
def sweep() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield save_sweep_folder(Path(tmp))


def corrupted(text: str) -> st.SearchStrategy[bytes]:
    """The file's text with its JSON edited, cut short, spliced with bytes, or replaced."""
    data = json.loads(text)
    edited = mutated(data).map(lambda d: json.dumps(d, indent=2, allow_nan=True).encode())
    raw = text.encode()
    cut = st.integers(0, len(raw)).map(lambda at: raw[:at])
    splice = st.tuples(st.integers(0, len(raw)), st.binary(min_size=1, max_size=8)).map(
        lambda p: raw[: p[0]] + p[1] + raw[p[0] :]
    )
    other = st.binary(max_size=40) | json_values.map(lambda v: json.dumps(v).encode())
    deep = st.just(b"[" * 100_000) | st.just(b'{"schema_version": 1, "a": ' + b"[" * 5000)
    # Mostly edited JSON, which often stays valid and so reaches the code behind the reader.
    return st.one_of(edited, edited, edited, edited, cut, splice, other, deep)


@contextmanager
def corrupted_file(path: Path, data: st.DataObject) -> Iterator[None]:
    """`path` corrupted (one line of a .jsonl) while the block runs, then put back."""
    original = path.read_bytes()
    if path.suffix == ".jsonl":
        lines = original.splitlines(keepends=True)
        at = data.draw(st.integers(0, len(lines) - 1))
        lines[at] = data.draw(corrupted(lines[at].decode())) + b"\n"
        path.write_bytes(b"".join(lines))
    else:
        path.write_bytes(data.draw(corrupted(original.decode())))
    try:
        yield
    finally:
        path.write_bytes(original)


@contextmanager
def written(path: Path, content: bytes) -> Iterator[None]:
    original = path.read_bytes()
    path.write_bytes(content)
    try:
        yield
    finally:
        path.write_bytes(original)


def expect_result_or_error(read: Callable[[], Any]) -> None:
    """`read()` gives a result or a CrossfadeError with a message; anything else fails."""
    outcome = message = "read"
    try:
        read()
    except CrossfadeError as exc:
        outcome, message = type(exc).__name__, str(exc)
    event(outcome)
    assert message


@pytest.mark.parametrize("name", list(READERS))
@fuzz(examples=400)
@given(data=st.data())
def test_a_corrupted_document_reads_or_is_a_crossfade_error(
    sweep: Path, name: str, data: st.DataObject
) -> None:
    with corrupted_file(sweep / name, data):
        expect_result_or_error(lambda: READERS[name](sweep / name))


@fuzz(examples=600)
@given(data=st.data())
def test_a_corrupted_record_line_reads_or_is_a_result_error(
    sweep: Path, data: st.DataObject
) -> None:
    with corrupted_file(sweep / RUN / "requests.jsonl", data):
        expect_result_or_error(lambda: load_records(sweep / RUN))


@pytest.mark.parametrize("name", [*READERS, f"{RUN}/requests.jsonl"])
@fuzz(examples=150)
@given(data=st.data())
def test_a_sweep_with_a_corrupted_file_reports_and_compares_or_says_why_not(
    sweep: Path, name: str, data: st.DataObject
) -> None:
    with corrupted_file(sweep / name, data):
        expect_result_or_error(lambda: load_report([sweep]))
        expect_result_or_error(lambda: analyse_sweep(sweep, resamples=50))


def test_a_document_that_is_not_utf8_or_nested_too_deep_names_the_file(sweep: Path) -> None:
    path = sweep / "sweep.json"
    for content, problem in [
        (b'{"schema_version": 1, "mode": "\xff"}', ": cannot read: 'utf-8' codec can't decode"),
        (b"[" * 100_000, ":1: not valid JSON: nested deeper than the JSON decoder goes"),
    ]:
        with written(path, content), pytest.raises(CrossfadeError, match=f"^{path}{problem}"):
            load_sweep(path)


def test_a_record_of_the_wrong_types_is_refused_with_its_line_and_field(sweep: Path) -> None:
    path = sweep / RUN / "requests.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[1])
    for field, value in [("index", "7"), ("chunk_ns", [1.5]), ("end_ns", True)]:
        lines[1] = json.dumps({**record, field: value}).encode() + b"\n"
        with written(path, b"".join(lines)), pytest.raises(CrossfadeError, match=f":2: .* {field}"):
            load_records(sweep / RUN)
