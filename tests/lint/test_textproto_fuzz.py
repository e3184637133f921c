"""Fuzzing the located config.pbtxt reader: any text, and crossfade's own config.pbtxt files cut
and spliced, read into a tree of fields without an exception; every quoted value unquotes; every
field protobuf accepts is found with its line."""

from __future__ import annotations

import re
from functools import cache

from google.protobuf import text_format
from hypothesis import event, given
from hypothesis import strategies as st

from crossfade.lint.textproto import MAX_DEPTH, Field, read_located, unquote
from crossfade.render.pbtxt import model_config_module
from crossfade.render.triton import render_triton
from crossfade.spec import parse_spec
from crossfade.spec.example import EXAMPLE_SPEC
from tests.support.fuzz import fuzz

_PIECE = re.compile(r"\s+|\"(?:[^\"\\\n]|\\.)*\"|[A-Za-z0-9_.+\-]+|.", re.DOTALL)
SPLICES = ["{", "}", "[", "]", "<", ">", ":", ",", "\n", "#", '"', "'", "\\", '"\\x"', "'\\u12'"]
SPLICES += ["${var}", "${", "name", "parameters", "key: ", "value {", "string_value: ", "-1"]


@cache
def rendered_configs() -> tuple[str, ...]:
    tree = render_triton(parse_spec(EXAMPLE_SPEC))
    return tuple(text for path, text in sorted(tree.files.items()) if path.endswith(".pbtxt"))


@st.composite
def mutated_configs(draw: st.DrawFn) -> str:
    """A real config.pbtxt, split into tokens, with a few deleted, repeated or replaced by
    punctuation, quotes, escapes, placeholders and field names."""
    pieces = _PIECE.findall(draw(st.sampled_from(rendered_configs())))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(pieces) - 1))
        edit = draw(st.sampled_from(["delete", "repeat", "insert", "replace"]))
        if edit == "delete":
            del pieces[at]
        elif edit == "repeat":
            pieces[at:at] = pieces[at : at + draw(st.integers(1, 20))]
        else:
            splice = draw(st.sampled_from(SPLICES) | st.text(max_size=4))
            pieces[at : at + (edit == "replace")] = [splice]
    return "".join(pieces)[: draw(st.none() | st.integers(0, 5000)) or None]


def depth(node: Field) -> int:
    deepest, level = 0, [(node, 0)]
    while level:
        node, at = level.pop()
        deepest = max(deepest, at)
        level += [(child, at + 1) for child in node.children]
    return deepest


def read_and_check(text: str) -> Field:
    root = read_located(text)
    last_line = text.count("\n") + 1
    for _, node in root.walk():
        assert 1 <= node.line <= last_line
        if node.value is not None:
            assert isinstance(unquote(node.value), str)
            assert 1 <= node.value_line <= last_line
    assert depth(root) <= MAX_DEPTH + 1
    return root


@fuzz(examples=1000)
@given(text=st.text(max_size=300) | st.text("{}[]<>:,\"'\\#$ \nab1", max_size=300))
def test_any_text_reads_into_located_fields(text: str) -> None:
    read_and_check(text)


@fuzz(examples=800)
@given(text=mutated_configs())
def test_a_mutated_config_reads_and_keeps_every_field_protobuf_accepts(text: str) -> None:
    root = read_and_check(text)
    message = model_config_module().ModelConfig()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError:
        event("protobuf rejects it")
        return
    event("protobuf accepts it")
    located = {child.name for child in root.children}
    assert {field.name for field, _ in message.ListFields()} <= located


def test_a_malformed_escape_unquotes_to_its_text_as_written() -> None:
    assert unquote('"\\x"') == "\\x"
    assert unquote("'a\\u12'") == "a\\u12"
    assert unquote('"\\8"') == "\\8"  # an unknown escape: Python only warns (deprecated)
    assert unquote('"caf\\xc3\\xa9 \\"q\\""') == 'caf\xc3\xa9 "q"'


def test_deep_nesting_is_kept_to_the_bound_and_what_follows_is_still_read() -> None:
    text = "a {" * 100_000 + "x: 1" + "}" * 100_000 + '\nname: "m"\n'
    root = read_located(text)
    assert depth(root) == MAX_DEPTH + 1
    assert root.scalar("name") == '"m"'
