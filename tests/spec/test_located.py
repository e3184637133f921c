"""The located loader shared by the spec, the router config and the canary plan: every problem
names the file, the line, the field and, where one is known, the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from crossfade.errors import SpecError
from crossfade.rollout.router.config import load_router_config
from crossfade.spec.base import StrictModel
from crossfade.spec.canary_plan import PlanError, parse_plan
from crossfade.spec.located import parse_located


class Inner(StrictModel):
    port: int


class Outer(StrictModel):
    name: str
    listen: Inner | None = None
    items: list[Inner] = Field(default_factory=list)


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_located(text, Outer, "f.yaml", "not a mapping")
    return [str(p) for p in caught.value.problems]


def test_an_unknown_key_inside_an_optional_model_gets_its_line_and_the_nearest_key() -> None:
    found = problems("name: x\nlisten:\n  prot: 1\n")
    [unknown] = [p for p in found if "unknown key" in p]
    assert unknown.startswith("f.yaml:3: listen.prot: unknown key")
    assert "did you mean 'port'" in unknown
    assert any(p.startswith("f.yaml:2: listen.port: Field required") for p in found), found


def test_a_list_item_a_wrong_type_and_a_missing_key_are_each_located() -> None:
    found = problems("items:\n  - port: 1\n  - port: many\n")
    assert any(p.startswith("f.yaml:3: items[1].port: ") and "'many'" in p for p in found)
    assert any(p.startswith("f.yaml:1: name: Field required") for p in found), found


def test_duplicate_keys_and_a_document_that_is_not_a_mapping() -> None:
    [duplicate] = problems("name: a\nname: b\n")
    assert duplicate.startswith("f.yaml:2: name: duplicate key (first at line 1)")
    assert problems("- just a list\n") == ["f.yaml:1: not a mapping"]


def test_the_router_config_and_the_plan_are_read_the_same_way(
    tmp_path: Path,
) -> None:
    config = tmp_path / "router.yaml"
    backend = "{name: a, target: 'openai://h:1/v1?model=m'}"
    config.write_text(f"version: 1\nbackends:\n  - {backend}\ntimeout: {{idle_s: 1}}\n")
    with pytest.raises(SpecError) as caught:
        load_router_config(config)
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"{config}:4: timeout: unknown key")
    assert "did you mean 'timeouts'" in problem
    with pytest.raises(PlanError) as plan_error:
        parse_plan("version: 1\nincumbent: a\ncandidate: b\nsteps: [shadow, 100]\nsteps: [100]\n")
    assert "<plan>:5: steps: duplicate key" in str(plan_error.value)


def test_a_key_that_looks_like_a_pydantic_union_tag_is_still_located() -> None:
    assert sorted(problems("name: x\nx[0]: 1\nlisten: {port: 1, int: 2}\n")) == [
        "f.yaml:2: x[0]: unknown key",
        "f.yaml:3: listen.int: unknown key",
    ]


def test_a_control_character_is_invalid_yaml_not_a_reader_exception() -> None:
    [problem] = problems("name: x\x1f\n")
    assert problem.startswith("f.yaml: invalid YAML: unacceptable character #x001f")
