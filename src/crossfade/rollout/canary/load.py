"""Read a canary plan file, with errors that name the file, the line and the field.

The same approach as the spec loader (`crossfade.spec.load`): the YAML is composed first so
every key keeps its line, then pydantic's errors are mapped back onto those lines.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from crossfade.errors import SpecProblem
from crossfade.rollout.canary.errors import PlanError
from crossfade.rollout.canary.plan import CanaryPlan
from crossfade.spec.suggest import did_you_mean

Location = tuple[str | int, ...]


def load_plan(path: str | Path) -> CanaryPlan:
    """The plan at `path`; a relative `journal` is taken from the plan's folder."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError([SpecProblem(str(file), None, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError([SpecProblem(str(file), None, "", f"cannot read: {exc}")]) from None
    plan = parse_plan(text, str(file))
    if not plan.journal.is_absolute():
        plan = plan.model_copy(update={"journal": file.parent / plan.journal})
    return plan


def parse_plan(text: str, filename: str = "<plan>") -> CanaryPlan:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.context, exc.problem) if p)
        line = mark.line + 1 if mark else None
        raise PlanError([SpecProblem(filename, line, "", f"invalid YAML: {message}")]) from None
    except yaml.YAMLError as exc:
        raise PlanError([SpecProblem(filename, None, "", f"invalid YAML: {exc}")]) from None
    if not isinstance(root, yaml.MappingNode):
        hint = "start from the example in `crossfade canary --help`"
        raise PlanError([SpecProblem(filename, 1, "", "a plan is a mapping of keys", hint)])
    lines: dict[Location, int] = {}
    duplicates = _index_lines(root, (), lines)
    if duplicates:
        raise PlanError(
            [
                SpecProblem(filename, line, _dotted(loc), "duplicate key", "keep one")
                for loc, line in duplicates
            ]
        )
    data = yaml.safe_load(text)
    try:
        return CanaryPlan.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(e, filename, lines) for e in exc.errors(include_url=False)]
        raise PlanError(problems) from None


def _index_lines(
    node: yaml.Node, loc: Location, lines: dict[Location, int]
) -> list[tuple[Location, int]]:
    """Fill `lines` with the line of every key and item; return the duplicated keys."""
    lines.setdefault(loc, node.start_mark.line + 1)
    duplicates: list[tuple[Location, int]] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*loc, str(key_node.value))
            if child in lines:
                duplicates.append((child, key_node.start_mark.line + 1))
            lines[child] = key_node.start_mark.line + 1
            duplicates += _index_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            duplicates += _index_lines(item, (*loc, index), lines)
    return duplicates


def _problem(error: Any, filename: str, lines: dict[Location, int]) -> SpecProblem:
    # pydantic names the union member it tried ("literal['shadow']", "int"); drop those.
    loc: Location = tuple(p for p in error["loc"] if not (isinstance(p, str) and _is_tag(p)))
    hint = None
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
        hint = did_you_mean(str(loc[-1]), _keys_at(loc[:-1]))
    elif error["type"] == "missing":
        hint = f"add '{loc[-1]}:'"
    elif error["type"] != "value_error":
        message = f"{message} (got {error.get('input')!r})"
    line = next((lines[loc[:end]] for end in range(len(loc), -1, -1) if loc[:end] in lines), None)
    return SpecProblem(filename, line, _dotted(loc), message, hint)


def _is_tag(part: str) -> bool:
    return "[" in part or part in {"int", "str", "float", "bool", "constrained-int"}


def _dotted(loc: Location) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _keys_at(loc: Location) -> list[str]:
    """The keys the plan accepts at `loc` (for "did you mean")."""
    model: Any = CanaryPlan
    for part in loc:
        field = model.model_fields.get(str(part)) if _is_model(model) else None
        if field is None:
            return []
        model = next((a for a in typing.get_args(field.annotation) if _is_model(a)), None)
        model = model or field.annotation
    return list(model.model_fields) if _is_model(model) else []


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
