"""The bounds of the located loader: a config file too large, too deep, or whose aliases expand
too far is refused with a located error, cheaply; aliases within the bounds still work."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from crossfade.cli import main
from crossfade.errors import SpecError
from crossfade.spec.example import EXAMPLE_SPEC
from crossfade.spec.located import parse_located, read_text
from crossfade.spec.yaml_limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_TEXT, MAX_VALUES


class Free(BaseModel):
    """Any keys, any values: only the loader's bounds can refuse a document."""

    model_config = ConfigDict(extra="allow")
    x: Any = None
    y: Any = None


def nested_aliases(levels: int = 9, width: int = 9) -> str:
    """`levels` anchors, each a list of `width` aliases to the one before: width**levels."""
    lines = [f"x{0}: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels + 1):
        lines.append(f"x{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def refusal(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse_located(text, Free, "f.yaml", "not a mapping")
    [problem] = caught.value.problems
    return str(problem)


def test_a_nested_alias_spec_is_refused_on_its_line_within_a_bounded_allocation() -> None:
    tracemalloc.start()
    try:
        message = refusal(nested_aliases())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message == (
        "f.yaml:5: with its aliases expanded (each repeats its anchor's content), this is over "
        "10,000 values (keys, items and scalars); a config file needs far fewer"
    )
    assert peak < 20 * 1024 * 1024, peak  # the expansion is measured, never built


def test_the_cli_refuses_a_nested_alias_spec_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(EXAMPLE_SPEC + nested_aliases(), encoding="utf-8")
    assert main(["render", "triton", str(spec), "-o", str(tmp_path / "out")]) == 2
    assert "with its aliases expanded" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_large_text_repeated_by_aliases_is_refused() -> None:
    big = "z" * (MAX_TEXT // 50)
    text = f"x: &big {big}\ny: [{', '.join(['*big'] * 60)}]\n"
    assert "this is over 1,000,000 characters; write the repeated part out once" in refusal(text)


def test_aliases_within_the_bounds_still_load_and_share_their_content() -> None:
    value = parse_located("x: &d {a: 1, b: [2, 3]}\ny: [*d, *d]\n", Free, "f.yaml", "")
    assert value.y == [{"a": 1, "b": [2, 3]}] * 2
    assert "over 10,000 values" in refusal(nested_aliases(levels=3, width=10))  # x3: 11,111
    parse_located(nested_aliases(levels=2, width=10), Free, "f.yaml", "")  # x2: 1,111


def test_an_alias_inside_its_own_anchor_is_refused_not_a_recursion_error() -> None:
    assert refusal("x: &loop [1, *loop]\n") == (
        "f.yaml:1: an alias refers to a collection it is inside of"
    )
    assert "inside of" in refusal("x: &m {k: {j: *m}}\n")


def test_too_many_values_written_out_are_refused_while_composing() -> None:
    assert refusal("x: [" + "1, " * MAX_VALUES + "1]\n") == (
        "f.yaml:1: over 10,000 values (keys, items and scalars); a config file needs far fewer"
    )
    parse_located("x: [" + "1, " * (MAX_VALUES - 4) + "1]\n", Free, "f.yaml", "")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("x: " + "[" * 100_000 + "\n", 1),
        ("x: " + "{a: " * 100_000 + "\n", 1),
        ("x:\n" + "".join(" " * d + f"k{d}:\n" for d in range(1, 300)), MAX_DEPTH),
        ("x:\n" + "- " * 5000 + "1\n", 2),
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings", "block-lists"],
)
def test_deep_nesting_is_refused_on_its_line_not_a_recursion_error(text: str, line: int) -> None:
    assert (
        refusal(text)
        == f"f.yaml:{line}: nested deeper than {MAX_DEPTH} levels; flatten the structure"
    )


def test_nesting_through_chained_aliases_counts_too() -> None:
    chain = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, MAX_DEPTH + 5)]
    assert "content), this is nested deeper than 100 levels; flatten the structure" in refusal(
        "x:\n" + "\n".join("  " + item for item in chain) + "\n"
    )


def test_nesting_within_the_bound_loads() -> None:
    depth = MAX_DEPTH - 2  # the document's mapping and `x:` are two levels
    inner = parse_located("x: " + "[" * depth + "]" * depth + "\n", Free, "f.yaml", "").x
    for _ in range(depth - 1):
        inner = inner[0]
    assert inner == []


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("2020-13-45", "cannot read '2020-13-45' as !!timestamp (month must be in 1..12)"),
        ("0b_", "cannot read '0b_' as !!int"),
        ("0x_", "cannot read '0x_' as !!int"),
        ("9" * 5000, "as !!int (Exceeds the limit (4300 digits)"),
        ("!!bool maybe", "cannot read 'maybe' as !!bool"),
        ("!!timestamp soon", "cannot read 'soon' as !!timestamp"),
        ("!!float x", "cannot read 'x' as !!float"),
    ],
)
def test_a_scalar_that_fails_its_types_conversion_is_located(scalar: str, expected: str) -> None:
    message = refusal(f"y: 1\nx: {scalar}\n")
    assert message.startswith("f.yaml:2: ")
    assert expected in message
    assert message.endswith("; quote it if it is text")


def test_a_file_over_the_size_bound_is_refused_unread_with_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 10))
    with pytest.raises(SpecError) as caught:
        read_text(big)
    assert str(caught.value) == (
        f"{big}: the file is 1,000,010 bytes; a config file may be at most 1,000,000 bytes "
        "(is this the right file?)"
    )
    with pytest.raises(SpecError, match="the file is over 1,000,000 bytes"):
        read_text("/dev/zero")  # a device has no size; it is read only up to the bound
