"""The spec's `deployment:` section: optional facts for advise; bad values name line and field."""

from __future__ import annotations

import typing

import pytest

from crossfade.errors import SpecError
from crossfade.spec import parse_spec
from crossfade.spec.example import EXAMPLE_SPEC
from crossfade.spec.models import BUILD_TIME_FORMATS, PREQUANTIZED_FORMATS, Deployment

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
    spec = parse_spec(MINIMAL + "  engine_pipeline: false\n")
    assert spec.deployment == Deployment(engine_pipeline=False)
    assert spec.deployment.model_updates is None


def test_every_fact_has_a_description() -> None:
    for name, field in Deployment.model_fields.items():
        assert field.description, name


def test_quantization_formats_are_split_into_checkpoint_and_build_time() -> None:
    annotation = Deployment.model_fields["quantization"].annotation
    [literal] = [a for a in typing.get_args(annotation) if a is not type(None)]
    formats = set(typing.get_args(literal))
    assert formats == {"none", *PREQUANTIZED_FORMATS, *BUILD_TIME_FORMATS}
    assert not set(PREQUANTIZED_FORMATS) & set(BUILD_TIME_FORMATS)


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ("model_updates: hourly", "deployment.model_updates", "'daily'"),
        ("gpu_fleet: hybrid", "deployment.gpu_fleet", "'uniform' or 'mixed'"),
        ("quantization: awq4", "deployment.quantization", "'int4_awq_build'"),
        ("expected_concurrency: 0", "deployment.expected_concurrency", "greater than 0"),
        ("expected_concurrency: many", "deployment.expected_concurrency", "integer"),
        ("ttft_p99_target_ms: -5", "deployment.ttft_p99_target_ms", "greater than 0"),
        ("itl_p99_target_ms: 50ms", "deployment.itl_p99_target_ms", "number"),
        ("engine_pipeline: sometimes", "deployment.engine_pipeline", "boolean"),
    ],
)
def test_bad_values_name_line_and_field(line: str, field: str, expected: str) -> None:
    [(at, where, message, _)] = problems(MINIMAL + f"  {line}\n")
    assert (at, where) == (DEPLOYMENT_LINE, field)
    assert expected in message
    assert repr(line.split(": ")[1]) in message or line.split(": ")[1] in message


def test_misspelled_fact_suggests_the_nearest() -> None:
    [(at, where, message, hint)] = problems(MINIMAL + "  engine_pipelin: true\n")
    assert (at, where, message) == (DEPLOYMENT_LINE, "deployment.engine_pipelin", "unknown key")
    assert hint == "did you mean 'engine_pipeline'?"


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
