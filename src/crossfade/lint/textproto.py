"""A located view of a config.pbtxt: every field with the line it stands on.

protobuf's text_format validates but forgets positions, and it cannot read a file that still
holds an unquoted ``${var}``. This reader is deliberately loose (it accepts any field name and
placeholders anywhere) so lint can point at lines; protobuf stays the judge of validity.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\f\v]+|\#[^\n]*)
  | (?P<newline>\n)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<placeholder>\$\{[^}\n]*\})
  | (?P<word>[A-Za-z0-9_.+\-]+)
  | (?P<punct>[{}\[\]<>:,;])
  | (?P<other>.)
    """,
    re.VERBOSE,
)

_CLOSE = {"{": "}", "<": ">"}
MAX_DEPTH = 100


@dataclass
class Field:
    """One occurrence of a field: a scalar (`value`) or a message (`children`)."""

    name: str
    line: int
    value: str | None = None
    value_line: int = 0
    children: list[Field] = field(default_factory=list)

    def all(self, name: str) -> list[Field]:
        return [child for child in self.children if child.name == name]

    def first(self, name: str) -> Field | None:
        return next((child for child in self.children if child.name == name), None)

    def scalar(self, name: str) -> str | None:
        child = self.first(name)
        return child.value if child is not None else None

    def walk(self, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Field]]:
        for child in self.children:
            child_path = (*path, child.name)
            yield child_path, child
            yield from child.walk(child_path)


def unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        body = token[1:-1]
        with warnings.catch_warnings():  # an unknown escape (`\8`) only warns, deprecated
            warnings.simplefilter("error", DeprecationWarning)
            try:
                return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
            except (UnicodeDecodeError, DeprecationWarning):  # protobuf reports them
                return body
    return token


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items: list[tuple[str, str, int]] = []
        line = 1
        for match in _TOKEN.finditer(text):
            kind = match.lastgroup or "other"
            if kind == "newline":
                line += 1
            elif kind != "space":
                self.items.append((kind, match.group(), line))
        self.pos = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def take(self) -> tuple[str, str, int]:
        item = self.items[self.pos]
        self.pos += 1
        return item


def read_located(text: str) -> Field:
    """The file as a tree of located fields; malformed stretches are skipped, not fatal. So is
    what is nested past `MAX_DEPTH` (ModelConfig itself nests about five deep): the field is
    kept, its content skipped, so the reader never recurses without bound."""
    tokens = _Tokens(text)
    root = Field("", 1)
    _read_fields(tokens, root, None, 0)
    return root


def _read_message(tokens: _Tokens, node: Field, opener: str, depth: int) -> None:
    """`node`'s content, after its `opener` was taken."""
    if depth < MAX_DEPTH:
        _read_fields(tokens, node, _CLOSE[opener], depth + 1)
        return
    open_messages = 1
    while open_messages and (item := tokens.peek()) is not None:
        tokens.take()
        if item[1] in _CLOSE:
            open_messages += 1
        elif item[1] in _CLOSE.values():
            open_messages -= 1


def _read_fields(tokens: _Tokens, parent: Field, closer: str | None, depth: int) -> None:
    while (item := tokens.peek()) is not None:
        kind, text, line = item
        if closer is not None and text == closer:
            tokens.take()
            return
        tokens.take()
        if kind != "word":
            continue  # stray punctuation: protobuf reports it, we only need positions
        nxt = tokens.peek()
        if nxt is not None and nxt[1] == ":":
            tokens.take()
            nxt = tokens.peek()
        if nxt is None:
            parent.children.append(Field(text, line))
            return
        if nxt[1] == "[":
            tokens.take()
            _read_list(tokens, parent, text, line, depth)
        elif nxt[1] in _CLOSE:
            tokens.take()
            node = Field(text, line)
            parent.children.append(node)
            _read_message(tokens, node, nxt[1], depth)
        else:
            _, value, value_line = tokens.take()
            parent.children.append(Field(text, line, value, value_line))


def _read_list(tokens: _Tokens, parent: Field, name: str, line: int, depth: int) -> None:
    while tokens.peek() is not None:
        _, text, item_line = tokens.take()
        if text == "]":
            return
        if text == ",":
            continue
        if text in _CLOSE:
            node = Field(name, item_line)
            parent.children.append(node)
            _read_message(tokens, node, text, depth)
        else:
            parent.children.append(Field(name, line, text, item_line))
