"""YAML files read into pydantic models with every problem located: the file, the line, the
field path (``tensorrtllm.instances.bls``), the problem and, for a misspelled key, the nearest
valid one. The spec, the router config and the canary plan are all read this way.

The YAML is composed first, so each key and item keeps its line; duplicate keys, which YAML
would silently merge, are problems too. Then pydantic's errors are mapped back onto the lines.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml
from pydantic import BaseModel, Tag, ValidationError

from crossfade.errors import SpecError, SpecProblem
from crossfade.spec.suggest import did_you_mean
from crossfade.spec.yaml_limits import (
    MAX_FILE_BYTES,
    BoundedLoader,
    Refused,
    check_expansion,
    too_large,
)

PathKey = tuple[str | int, ...]
Lines = dict[PathKey, int]
Model = TypeVar("Model", bound=BaseModel)


def read_text(path: str | Path, error: type[SpecError] = SpecError) -> str:
    """The file's text; a file over `MAX_FILE_BYTES` is refused unread (a device or a log
    named by mistake would otherwise be read whole)."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise error([SpecProblem(str(file), None, "", "no such file")]) from None
    except OSError as exc:
        raise error([SpecProblem(str(file), None, "", f"cannot read: {exc}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise error([SpecProblem(str(file), None, "", too_large(size or None))])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error([SpecProblem(str(file), None, "", f"cannot read: {exc}")]) from None


def parse_located(
    text: str,
    model: type[Model],
    filename: str,
    not_a_mapping: str,
    error: type[SpecError] = SpecError,
) -> Model:
    """`text` as a `model`; `not_a_mapping` is the problem when the document is not a mapping."""
    data, lines = compose(text, filename, error)
    if not isinstance(data, dict):
        raise error([SpecProblem(filename, 1, "", not_a_mapping)])
    return validate_located(data, lines, model, filename, error)


def validate_located(
    data: Any,
    lines: Lines,
    model: type[Model],
    filename: str,
    error: type[SpecError] = SpecError,
) -> Model:
    """`data` as a `model`, its problems placed on `lines` (which may be empty: no lines)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = [locate(e, model, filename, lines, data) for e in errors]
        raise error(problems) from None


def compose(text: str, filename: str, error: type[SpecError] = SpecError) -> tuple[Any, Lines]:
    """The document's data and the line of every key and item in it, within the bounds of
    `crossfade.spec.yaml_limits` (depth, and size with aliases expanded)."""
    try:
        loader = BoundedLoader(text)  # its reader refuses control characters right away
    except yaml.YAMLError as exc:
        raise error([SpecProblem(filename, None, "", f"invalid YAML: {exc}")]) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise error([SpecProblem(filename, None, "", "the file is empty")])
        check_expansion(root)
        lines: Lines = {}
        problems = list(_index_lines(root, (), lines, filename, set()))
        if problems:
            raise error(problems)
        return loader.construct_document(root), lines
    except Refused as exc:
        raise error([SpecProblem(filename, exc.line, "", exc.message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = " ".join(p for p in (exc.context, exc.problem) if p)
        raise error([SpecProblem(filename, line, "", f"invalid YAML: {message}")]) from None
    except yaml.YAMLError as exc:
        raise error([SpecProblem(filename, None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def _index_lines(
    node: yaml.Node, path: PathKey, lines: Lines, filename: str, seen_nodes: set[int]
) -> Iterator[SpecProblem]:
    """Lines of `node` and what is under it. A node met again through an alias is not walked
    again: a problem inside it is placed on the alias's line."""
    lines[path] = node.start_mark.line + 1
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                yield SpecProblem(
                    filename,
                    line,
                    dotted((*path, key)),
                    f"duplicate key (first at line {seen[key]})",
                    "keep one; YAML would silently use the last",
                )
            seen[key] = line
            yield from _index_lines(value_node, (*path, key), lines, filename, seen_nodes)
            lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _index_lines(item, (*path, index), lines, filename, seen_nodes)


def locate(
    error: Any, model: type[BaseModel], filename: str, lines: Lines, data: Any = None
) -> SpecProblem:
    """One pydantic error as a located problem with its fix, where one is known; `data` is
    what was validated (a key of it is never taken for one of pydantic's union tags)."""
    loc = _data_loc(error["loc"], data)
    ctx = error.get("ctx") or {}
    hint: str | None = ctx.get("hint") or None
    kind = error["type"]
    if kind == "bad_key":  # a model's own check of a free-form mapping's keys
        loc = (*loc, ctx["key"])
    elif kind == "extra_forbidden" and loc:
        hint = did_you_mean(str(loc[-1]), allowed_keys(model, tuple(error["loc"])[:-1]))
    elif kind == "missing" and loc:
        hint = f"add '{loc[-1]}:'"
    message = error["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif kind == "extra_forbidden":
        message = "unknown key"
    elif kind not in ("bad_key", "missing"):
        message = f"{message} (got {_short(error.get('input'))})"
    return SpecProblem(filename, _line_of(loc, lines), dotted(loc), message, hint)


def allowed_keys(model: type[BaseModel], loc: PathKey) -> list[str]:
    """The keys `model` accepts at pydantic's `loc`, found by walking the models' annotations;
    a tag in `loc` picks its member of a tagged union (the layouts of `tensorrtllm:`)."""
    target: Any = model
    for part in loc:
        tagged = _tagged_member(target, part)
        if tagged is not None:
            target = tagged
            continue
        target = _unwrap(target)
        if _is_model(target):
            field = target.model_fields.get(str(part))
            if field is None:
                return []
            target = field.annotation
        else:  # a list or mapping: the item's type
            args = typing.get_args(target)
            target = args[-1] if args else None
    target = _unwrap(target)
    return list(target.model_fields) if _is_model(target) else []


def dotted(loc: PathKey) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _data_loc(loc: PathKey, data: Any) -> PathKey:
    """pydantic's `loc` without the union members it names on the way; a part that is a key
    or index of `data` at that place stays, whatever it looks like (`x[0]: 1` is a key)."""
    kept: list[str | int] = []
    node = data
    for part in loc:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_list or (isinstance(node, dict) and part in node):
            node = node[part]
        elif _is_union_tag(part):
            continue
        else:
            node = None
        kept.append(part)
    return tuple(kept)


def _is_union_tag(part: str | int) -> bool:
    # pydantic names the union member it tried ("list[...]", "function-after[...]", "int").
    return isinstance(part, str) and (
        "[" in part or part in {"str", "int", "float", "bool", "constrained-int"}
    )


def _line_of(loc: PathKey, lines: Lines) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _tagged_member(annotation: Any, tag: str | int) -> Any:
    """The model of a tagged union member (`Annotated[Model, Tag(tag)]`) found in `annotation`
    through Optional and Annotated wrappers; None when there is none."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *metadata = typing.get_args(annotation)
        if any(isinstance(m, Tag) and m.tag == tag for m in metadata):
            return inner
        return _tagged_member(inner, tag)
    if origin in (Union, types.UnionType):
        found = (_tagged_member(member, tag) for member in typing.get_args(annotation))
        return next((member for member in found if member is not None), None)
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated wrappers down to the model or container inside; a union of
    several members keeps the first model among them (`Literal['shadow'] | int` has none)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
        return next((m for m in members if _is_model(m)), annotation)
    return annotation
