"""The bounds on a YAML config file (spec, router config, canary plan), checked before its data
is built, so a hostile or broken file costs a clear error instead of memory or a traceback.

An alias repeats its anchor's whole content wherever it stands, and whatever reads the data
(pydantic, the renderers) walks it expanded: nine nested levels of ten aliases each are 10**9
values from a few hundred bytes. So the bound is on the document as it would be expanded,
measured over the composed nodes with each node's size computed once (never by expanding).
Aliases themselves stay allowed: a shared block of settings is a fair use of them.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 100  # levels of nesting; a config file needs about ten
# Keys, items and scalars, as written and with every alias expanded. The largest example spec
# has 220; composing costs about 15-30 us and a few hundred bytes per value (pure Python).
MAX_VALUES = 10_000
MAX_TEXT = MAX_FILE_BYTES  # characters of scalar text with every alias expanded


class Refused(Exception):
    """A document past a bound: `line` (1-based, or None) and what to do about it."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def too_large(size: int | None) -> str:
    got = f"{size:,} bytes" if size is not None else f"over {MAX_FILE_BYTES:,} bytes"
    return (
        f"the file is {got}; a config file may be at most {MAX_FILE_BYTES:,} bytes "
        "(is this the right file?)"
    )


def too_deep() -> str:
    return f"nested deeper than {MAX_DEPTH} levels; flatten the structure"


def too_many(what: str) -> str:
    return (
        f"{what}over {MAX_VALUES:,} values (keys, items and scalars); a config file needs far fewer"
    )


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing as it composes nesting past `MAX_DEPTH` (its composer
    recurses once per level and would otherwise end in a RecursionError) and more than
    `MAX_VALUES` nodes (each costs hundreds of bytes and about 15 us to compose)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._values = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._values += 1
        if self._depth >= MAX_DEPTH or self._values > MAX_VALUES:
            event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
            message = too_deep() if self._depth >= MAX_DEPTH else too_many("")
            raise Refused(event.start_mark.line + 1, message)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # A scalar that matches a type's pattern but not its range (`2020-13-45`, `0b_`, an
        # integer of 5000 digits, `!!bool maybe`) fails in Python's conversions, unlocated.
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            value = f"{node.value[:40]!r} " if isinstance(node, yaml.ScalarNode) else ""
            message = f"cannot read {value}as {tag} ({exc}); quote it if it is text"
            raise Refused(_line(node), message) from None


def check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases make it too deep or too large once expanded, or that
    contains itself. Iterative, and each node is measured once."""
    sizes: dict[int, tuple[int, int, int]] = {}  # id(node) -> values, text, depth
    open_nodes: set[int] = set()  # started, not finished: the current path from the root
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = _measure(node, sizes)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise Refused(_line(node), "an alias refers to a collection it is inside of")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _measure(node: yaml.Node, sizes: dict[int, tuple[int, int, int]]) -> tuple[int, int, int]:
    if isinstance(node, yaml.ScalarNode):
        return 1, len(node.value), 1
    children = [sizes[id(child)] for child in _children(node)]
    values = 1 + sum(c[0] for c in children)
    text = sum(c[1] for c in children)
    depth = 1 + max((c[2] for c in children), default=0)
    expanded = "with its aliases expanded (each repeats its anchor's content), this is "
    if values > MAX_VALUES:
        raise Refused(_line(node), too_many(expanded))
    if text > MAX_TEXT:
        message = f"{expanded}over {MAX_TEXT:,} characters; write the repeated part out once"
        raise Refused(_line(node), message)
    if depth > MAX_DEPTH:
        raise Refused(_line(node), expanded + too_deep())
    return values, text, depth


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1
