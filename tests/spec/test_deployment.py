"""The spec's `deployment:` section: optional facts for advise; bad values name line and field;
facts and values of the engine era are refused with the reason and the fix."""

from __future__ import annotations

import typing

import pytest

from crossfade.errors import SpecError
from crossfade.spec import parse_spec
from crossfade.spec.example import EXAMPLE_SPEC
from crossfade.spec.models import (
    RETIRED_FACTS,
    RETIRED_QUANTIZATION,
    SHARED_FORMATS,
    VLLM_ONLY_FORMATS,
    Deployment,
)

MINIMAL = """\
model:
  name: tiny
  tokenizer: /models/tiny
vllm:
  image: 25.12-vllm-python-py3
  engine_args:
    model: /models/tiny
deployment:
"""
DEPLOYMENT_LINE = MINIMAL.count("\n") + 1  # the first key under deployment:


def problems(text: str) -> list[tuple[int | None, str, str, str | None]]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "spec.yaml")
    return [(p.line, p.field, p.message, p.hint) for p in caught.value.problems]


def test_deployment_is_optional_and_every_fact_in_it_too() -> None:
    assert parse_spec(MINIMAL.replace("deployment:\n", "")).deployment is None
    spec = parse_spec(MINIMAL + "  tensorrtllm_runs_engines: false\n")
    assert spec.deployment == Deployment(tensorrtllm_runs_engines=False)
    assert spec.deployment.model_support is None


def test_every_fact_has_a_description() -> None:
    for name, field in Deployment.model_fields.items():
        assert field.description, name


def test_quantization_formats_are_split_into_vllm_only_and_shared() -> None:
    annotation = Deployment.model_fields["quantization"].annotation
    [literal] = [a for a in typing.get_args(annotation) if a is not type(None)]
    formats = set(typing.get_args(literal))
    assert formats == {*SHARED_FORMATS, *VLLM_ONLY_FORMATS}
    assert not set(SHARED_FORMATS) & set(VLLM_ONLY_FORMATS)
    assert not formats & set(RETIRED_QUANTIZATION)


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ("model_support: hybrid", "deployment.model_support", "'both'"),
        ("quantization: awq4", "deployment.quantization", "'nvfp4'"),
        ("expected_concurrency: 0", "deployment.expected_concurrency", "greater than 0"),
        ("expected_concurrency: many", "deployment.expected_concurrency", "integer"),
        ("ttft_p99_target_ms: -5", "deployment.ttft_p99_target_ms", "greater than 0"),
        ("itl_p99_target_ms: 50ms", "deployment.itl_p99_target_ms", "number"),
        ("tensorrtllm_runs_engines: sometimes", "deployment.tensorrtllm_runs_engines", "boolean"),
    ],
)
def test_bad_values_name_line_and_field(line: str, field: str, expected: str) -> None:
    [(at, where, message, _)] = problems(MINIMAL + f"  {line}\n")
    assert (at, where) == (DEPLOYMENT_LINE, field)
    assert expected in message
    assert repr(line.split(": ")[1]) in message or line.split(": ")[1] in message


def test_misspelled_fact_suggests_the_nearest() -> None:
    [(at, where, message, hint)] = problems(MINIMAL + "  model_suport: both\n")
    assert (at, where, message) == (DEPLOYMENT_LINE, "deployment.model_suport", "unknown key")
    assert hint == "did you mean 'model_support'?"


@pytest.mark.parametrize("fact", sorted(RETIRED_FACTS))
def test_a_retired_fact_is_refused_with_why_and_the_fix(fact: str) -> None:
    # Its line, not the section's: the fact follows another one.
    [(at, where, message, hint)] = problems(MINIMAL + f"  quantization: none\n  {fact}: true\n")
    assert (at, where) == (DEPLOYMENT_LINE + 1, f"deployment.{fact}")
    assert message.startswith(f"'{fact}' is no longer a deployment fact: ")
    assert hint is not None
    assert hint.startswith("remove it")


@pytest.mark.parametrize(
    ("value", "instead"), [("int4_awq_build", "'awq' for an AWQ checkpoint"), ("int8", "'fp8'")]
)
def test_a_build_time_quantization_is_refused_with_the_checkpoint_formats(
    value: str, instead: str
) -> None:
    [(at, where, message, hint)] = problems(MINIMAL + f"  quantization: {value}\n")
    assert (at, where) == (DEPLOYMENT_LINE, "deployment.quantization")
    assert message.startswith(f"'{value}' was ")
    assert "state the quantization the checkpoint carries" in message
    assert hint is not None
    assert hint.startswith(instead)


def test_the_init_example_deployment_block_is_valid_once_uncommented() -> None:
    lines = EXAMPLE_SPEC.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("# deployment:")))
    block = [
        line.removeprefix("#").removeprefix(" ") if i == 0 else line.removeprefix("#")
        for i, line in enumerate(lines[start:])
    ]
    uncommented = "\n".join(lines[:start] + block) + "\n"
    spec = parse_spec(uncommented, "init")
    assert spec.deployment is not None
    stated = spec.deployment.model_dump(exclude_none=True)
    assert set(stated) == set(Deployment.model_fields)
