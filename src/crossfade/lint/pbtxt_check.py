"""Parse a config.pbtxt with Triton's ModelConfig schema and report what stops it loading.

Two problems are found here: text that Triton's parser rejects (unknown field, wrong type), and
``${var}`` placeholders that fill_template.py left behind in a structural field, which make the
model unloadable. Placeholders in parameter values are judged per model (`checks_parameters`):
some parameters have a default, some are required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf import descriptor, text_format

from crossfade.findings import Finding, Severity
from crossfade.lint.textproto import Field, read_located
from crossfade.render.pbtxt import model_config_module
from crossfade.spec.suggest import did_you_mean

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
PARAMETER_VALUE = ("parameters", "value", "string_value")
_NO_FIELD = re.compile(r'Message type "([\w.]+)" has no field named "(\w+)"')


@dataclass
class ParsedConfig:
    """A config.pbtxt read both ways: the protobuf message (None if unparseable) and located."""

    path: str
    text: str
    located: Field
    message: Any | None


def check_config(path: str, text: str) -> tuple[ParsedConfig, list[Finding]]:
    located = read_located(text)
    findings = _placeholders(path, located)
    message, parse_finding = _parse(path, _neutralize(text))
    if parse_finding is not None:
        findings.append(parse_finding)
    return ParsedConfig(path, text, located, message), findings


def _placeholders(path: str, located: Field) -> list[Finding]:
    findings = []
    for field_path, node in located.walk():
        if node.value is None or not PLACEHOLDER.search(node.value):
            continue
        if field_path == PARAMETER_VALUE:
            continue  # whether the backend has a default depends on the model: checks_parameters
        names = ", ".join(PLACEHOLDER.findall(node.value))
        findings.append(
            Finding(
                Severity.ERROR,
                "leftover-var-structural",
                path,
                node.value_line or node.line,
                f"'{'.'.join(field_path)}' is the unfilled placeholder ${{{names}}}; "
                "Triton cannot load this model",
                "fill it (fill_template.py or crossfade render)",
            )
        )
    return findings


def _parse(path: str, text: str) -> tuple[Any | None, Finding | None]:
    message = model_config_module().ModelConfig()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as exc:
        detail = str(exc)
        # ParseError text starts with "line:col : " when the position is known.
        detail = re.sub(r"^\d+:\d+ : ", "", detail)
        hint = None
        match = _NO_FIELD.search(detail)
        if match:
            hint = did_you_mean(match.group(2), _field_names(match.group(1)))
        return None, Finding(
            Severity.ERROR,
            "pbtxt-invalid",
            path,
            exc.GetLine() if exc.GetLine() else None,
            f"Triton's ModelConfig parser rejects this file: {detail}",
            hint,
        )
    return message, None


def _field_names(full_name: str) -> list[str]:
    pool = model_config_module().DESCRIPTOR.pool
    try:
        return [f.name for f in pool.FindMessageTypeByName(full_name).fields]
    except KeyError:
        return []


def _neutralize(text: str) -> str:
    """Swap unquoted placeholders for a value of the field's type, so the rest can be parsed."""

    def replace(line: str) -> str:
        match = re.match(r"\s*(\w+)\s*:?\s*", line)
        literal = _neutral_literal(match.group(1)) if match else "0"
        return re.sub(r"(?<![\"'\w])\$\{[^}]*\}", literal, line)

    return "\n".join(replace(line) if "${" in line else line for line in text.split("\n"))


def _neutral_literal(field_name: str) -> str:
    field = _field_types().get(field_name)
    if field is None:
        return "0"
    if field.type == descriptor.FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        return str(field.enum_type.values[0].name)
    if field.type == descriptor.FieldDescriptor.TYPE_BOOL:
        return "false"
    if field.type == descriptor.FieldDescriptor.TYPE_STRING:
        return '""'
    return "0"


@cache
def _field_types() -> dict[str, descriptor.FieldDescriptor]:
    """Every field name reachable from ModelConfig (first definition wins)."""
    found: dict[str, descriptor.FieldDescriptor] = {}
    seen: set[str] = set()
    pending = [model_config_module().ModelConfig.DESCRIPTOR]
    while pending:
        message = pending.pop()
        if message.full_name in seen:
            continue
        seen.add(message.full_name)
        for field in message.fields:
            found.setdefault(field.name, field)
            if field.message_type is not None:
                pending.append(field.message_type)
    return found
