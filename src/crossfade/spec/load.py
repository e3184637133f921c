"""Read a spec file into a validated `Spec`, or fail with errors that say where and how to fix.

Every problem names the file, the line and the field path (``tensorrtllm.instances.bls``), and
for a misspelled key the nearest valid one. YAML is composed first so each value keeps its line.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError

from crossfade.errors import SpecError, SpecProblem
from crossfade.spec.models import Spec
from crossfade.spec.suggest import did_you_mean

PathKey = tuple[str | int, ...]


def load_spec(path: str | Path) -> Spec:
    """Load and validate the spec at `path`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([SpecProblem(str(file), None, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([SpecProblem(str(file), None, "", f"cannot read: {exc}")]) from None
    return parse_spec(text, str(file))


def parse_spec(text: str, filename: str = "<spec>") -> Spec:
    data, lines = _compose(text, filename)
    if not isinstance(data, dict):
        raise SpecError(
            [SpecProblem(filename, 1, "", "a spec is a mapping of keys (model:, vllm:, ...)")]
        )
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(
            [_problem(error, filename, lines) for error in exc.errors(include_url=False)]
        ) from None


def _compose(text: str, filename: str) -> tuple[Any, dict[PathKey, int]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = " ".join(p for p in (exc.context, exc.problem) if p)
        raise SpecError([SpecProblem(filename, line, "", f"invalid YAML: {message}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([SpecProblem(filename, None, "", f"invalid YAML: {exc}")]) from None
    if root is None:
        raise SpecError([SpecProblem(filename, None, "", "the file is empty")])
    lines: dict[PathKey, int] = {}
    problems = list(_index_lines(root, (), lines, filename))
    if problems:
        raise SpecError(problems)
    data = yaml.SafeLoader(text).get_single_data()
    return data, lines


def _index_lines(
    node: yaml.Node, path: PathKey, lines: dict[PathKey, int], filename: str
) -> Iterator[SpecProblem]:
    """Record the line of every key and item; report duplicate keys, which YAML silently merges."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                yield SpecProblem(
                    filename,
                    line,
                    _dotted((*path, key)),
                    f"duplicate key (first at line {seen[key]})",
                    "keep one; YAML would silently use the last",
                )
            seen[key] = line
            yield from _index_lines(value_node, (*path, key), lines, filename)
            lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _index_lines(item, (*path, index), lines, filename)


def _problem(error: Any, filename: str, lines: dict[PathKey, int]) -> SpecProblem:
    loc: PathKey = tuple(part for part in error["loc"] if not _is_union_tag(part))
    ctx = error.get("ctx") or {}
    hint: str | None = ctx.get("hint") or None
    if error["type"] == "bad_key":
        loc = (*loc, ctx["key"])
    elif error["type"] == "extra_forbidden":
        hint = did_you_mean(str(loc[-1]), _allowed_keys(loc[:-1]))
    elif error["type"] == "missing":
        hint = f"add '{loc[-1]}:'"
    message = error["msg"]
    if error["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    elif error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] not in ("bad_key", "missing"):
        message = f"{message} (got {_short(error.get('input'))})"
    return SpecProblem(filename, _line_of(loc, lines), _dotted(loc), message, hint)


def _is_union_tag(part: str | int) -> bool:
    # pydantic puts the tried union member in the location ("list[...]", "function-after[...]").
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool"})


def _line_of(loc: PathKey, lines: dict[PathKey, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _dotted(loc: PathKey) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: PathKey) -> list[str]:
    """The keys the spec accepts at `loc`, found by walking the models' annotations."""
    target: Any = Spec
    for part in loc:
        target = _unwrap(target)
        if isinstance(target, type) and issubclass(target, BaseModel):
            field = target.model_fields.get(str(part))
            if field is None:
                return []
            target = field.annotation
        else:
            args = typing.get_args(target)
            target = args[-1] if args else None
    target = _unwrap(target)
    if isinstance(target, type) and issubclass(target, BaseModel):
        return list(target.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated wrappers down to the model or container inside."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else annotation
    return annotation
