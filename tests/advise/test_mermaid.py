"""The Mermaid flowchart: the flow reachable from where the path starts (today's flow for a team
without engines, with no engine node; everything for a team on engines), deterministic, and
exactly the path taken highlighted (nodes by class, edges by linkStyle index in order of
definition)."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

import pytest

from crossfade.advise.flow import FLOW, FLOW_TODAY, LEGACY_FLOW, Node
from crossfade.advise.mermaid import EVIDENCE_NODE, flowchart
from crossfade.advise.rules import decide
from crossfade.spec.models import Deployment
from tests.advise.branches import BRANCHES, ENGINES, FULL

EDGE = re.compile(r"^    (\w+) (?:-->|-\.->)\|\"[^\"]*\"\| (\w+)$")


def parse(text: str) -> tuple[list[tuple[str, str]], dict[str, set[str]], set[int]]:
    """Edges in order of definition, node ids per class, and the highlighted edge indices."""
    lines = text.splitlines()
    edges = [(m[1], m[2]) for line in lines if (m := EDGE.match(line))]
    classes: dict[str, set[str]] = {}
    links: set[int] = set()
    for line in lines:
        if line.startswith("    class "):
            _, ids, name = line.split()
            classes.setdefault(name, set()).update(ids.split(","))
        elif line.startswith("    linkStyle "):
            links.update(int(i) for i in line.split()[1].split(","))
    return edges, classes, links


@pytest.mark.parametrize(
    "facts", [case[1] for case in BRANCHES], ids=[case[0] for case in BRANCHES]
)
def test_exactly_the_path_taken_is_highlighted(facts: dict[str, Any]) -> None:
    path = decide(Deployment(**facts)).path
    text = flowchart(path)
    edges, classes, links = parse(text)
    assert classes == {"taken": set(path)}
    assert {edges[i] for i in links} == set(pairwise(path))
    assert len(links) == len(path) - 1


def _drawn(text: str, nodes: tuple[Node, ...]) -> None:
    edges, _, _ = parse(text)
    assert edges == [(node.id, edge.to) for node in nodes for edge in node.edges]
    for node in FLOW:
        definitions = [
            line
            for line in text.splitlines()
            if line.startswith(f"    {node.id}") and not EDGE.match(line)
        ]
        if node not in nodes:
            assert definitions == []
            continue
        [definition] = definitions
        assert node.text in definition
        assert ("{" in definition) == (not node.is_leaf)


def test_today_s_flow_is_drawn_once_deterministically_and_without_engines() -> None:
    path = decide(Deployment(**FULL)).path
    text = flowchart(path)
    assert text == flowchart(list(path))
    assert text.startswith("flowchart TD\n")
    _drawn(text, FLOW_TODAY)
    assert "engine" not in text.lower()
    assert "build" not in text.lower()


def test_a_team_on_engines_sees_the_legacy_question_and_all_that_follows() -> None:
    path = decide(Deployment(**ENGINES)).path
    assert path == ["engines", "engine_model", "migrate_llmapi"]
    text = flowchart(path)
    _drawn(text, FLOW)
    edges, classes, links = parse(text)
    assert classes == {"taken": set(path)}
    assert {edges[i] for i in links} == set(pairwise(path))
    for node in LEGACY_FLOW:
        assert node.text in text


def test_a_path_stopped_by_a_missing_fact_marks_the_question() -> None:
    path = decide(Deployment(model_support="both", ttft_p99_target_ms=100.0)).path
    assert path == ["support", "checkpoint"]
    edges, classes, links = parse(flowchart(path))
    assert classes == {"taken": {"support"}, "stopped": {"checkpoint"}}
    assert {edges[i] for i in links} == {("support", "checkpoint")}
    path = decide(Deployment(tensorrtllm_runs_engines=True)).path
    edges, classes, links = parse(flowchart(path))
    assert classes == {"taken": {"engines"}, "stopped": {"engine_model"}}
    assert {edges[i] for i in links} == {("engines", "engine_model")}


def test_an_override_by_measurement_is_drawn_after_the_leaf() -> None:
    path = decide(Deployment(**BRANCHES[-1][1])).path
    text = flowchart(path, measured="vllm")
    edges, classes, links = parse(text)
    assert classes == {"taken": {*path, EVIDENCE_NODE}}
    assert edges[-1] == (path[-1], EVIDENCE_NODE)
    assert {edges[i] for i in links} == {*pairwise(path), (path[-1], EVIDENCE_NODE)}
    assert "Measured: vLLM" in text
