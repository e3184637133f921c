"""Fuzzing the three YAML files read by the located loader (the spec, the router config, the
canary plan): any text, and the real documents with their values and keys changed and YAML's
special syntax (anchors, aliases, merge keys, tags, flow brackets) spliced in, give the model or
a SpecError whose every problem names the file; never another exception."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml
from hypothesis import event, given
from hypothesis import strategies as st
from pydantic import BaseModel

from crossfade.cli.canary import EXAMPLE as PLAN_EXAMPLE
from crossfade.errors import SpecError
from crossfade.rollout.router.config import parse_router_config
from crossfade.spec import parse_spec
from crossfade.spec.canary_plan import parse_plan
from crossfade.spec.example import EXAMPLE_SPEC
from crossfade.spec.located import compose
from tests.support.fuzz import fuzz, mutated
from tests.support.paths import ROOT
from tests.support.router_inputs import router_config_example

FILE = "f.yaml"
SPLICES = ["&a ", "*a", "<<: *a", "!!timestamp ", "!!binary ", "!!set ", "!!int ", "!!str "]
SPLICES += ["!!python/object:os.system ", "? ", "- ", "{", "}", "[", "]", ": ", "\t", "'", '"']
SPLICES += ["#", "\n---\n", "%YAML 1.1\n", "\0", "\ufeff", "0b_", "2020-13-45", "~", ".nan"]
SPLICES += ["9" * 5000, "&b [*a, *a, *a, *a]", "x: &a [1, *a]", "[" * 300, "\n  " + "- " * 200]


def _plan_example() -> str:
    return yaml.safe_dump(yaml.safe_load(PLAN_EXAMPLE.split("\n\n")[0])["plan"], sort_keys=False)


def parse_router(text: str, filename: str) -> BaseModel:
    data, lines = compose(text, filename)
    return parse_router_config(data, filename, lines)


SPECS = [EXAMPLE_SPEC, *(path.read_text() for path in sorted((ROOT / "examples").glob("*.yaml")))]
FILES: dict[str, tuple[Callable[[str, str], BaseModel], list[str]]] = {
    "spec": (parse_spec, SPECS),
    "router config": (parse_router, [router_config_example()]),
    "canary plan": (parse_plan, [_plan_example()]),
}


@st.composite
def documents(draw: st.DrawFn, examples: list[str]) -> str:
    """A real document with its data edited (values of another or the same type, keys removed,
    misspelled or added), written out again, then maybe YAML syntax spliced into its text."""
    text = draw(st.sampled_from(examples))
    if draw(st.booleans()):
        data = draw(mutated(yaml.safe_load(text)))
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(lines)))
        line = lines[at] if at < len(lines) else ""
        cut = draw(st.integers(0, len(line)))
        splice = draw(st.sampled_from(SPLICES) | st.text(max_size=3))
        lines[at : at + 1] = [line[:cut] + splice + line[cut:]]
    return "".join(lines)


def parse_or_located_error(parse: Callable[[str, str], BaseModel], text: str) -> None:
    problems = []
    try:
        parse(text, FILE)
    except SpecError as exc:
        problems = exc.problems or [None]  # an error must carry its problems
    event("SpecError" if problems else "loaded")
    for problem in problems:
        assert problem is not None
        assert problem.file == FILE
        assert problem.line is None or problem.line >= 1


@pytest.mark.parametrize("kind", list(FILES))
@fuzz(examples=600)
@given(data=st.data())
def test_an_edited_document_loads_or_is_a_located_error(kind: str, data: st.DataObject) -> None:
    parse, examples = FILES[kind]
    parse_or_located_error(parse, data.draw(documents(examples)))


@pytest.mark.parametrize("kind", list(FILES))
@fuzz(examples=400)
@given(text=st.text(max_size=200) | st.text("{}[]&*!<>:-?|#'\"\n\t ab1.~", max_size=200))
def test_any_text_loads_or_is_a_located_error(kind: str, text: str) -> None:
    parse_or_located_error(FILES[kind][0], text)


def test_the_examples_load_unedited() -> None:
    for parse, examples in FILES.values():
        for text in examples:
            assert isinstance(parse(text, FILE), BaseModel)
