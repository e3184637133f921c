"""The decision flow: every branch reached from stated facts, missing facts named when they
matter, and the flow itself well formed (every edge leads somewhere, one edge per answer)."""

from __future__ import annotations

import typing
from itertools import pairwise, product
from typing import Any, Literal

import pytest

from crossfade.advise.flow import FLOW, HIGH_CONCURRENCY, NODES, ROOT
from crossfade.advise.rules import decide
from crossfade.spec.models import Deployment
from tests.advise.branches import BRANCHES, FULL, OPEN


@pytest.mark.parametrize(
    ("facts", "leaf", "recommendation"),
    [case[1:] for case in BRANCHES],
    ids=[case[0] for case in BRANCHES],
)
def test_each_branch(facts: dict[str, Any], leaf: str, recommendation: str) -> None:
    decision = decide(Deployment(**facts))
    assert decision.path[-1] == leaf
    assert decision.recommendation == recommendation == NODES[leaf].recommendation
    assert decision.decided
    assert decision.unknowns == []
    assert decision.path[0] == ROOT
    for parent, child in pairwise(decision.path):
        assert child in [edge.to for edge in NODES[parent].edges]
    sources = [reason.source for reason in decision.reasons]
    assert sources == [f"rule:{node}" for node in decision.path]
    assert decision.reasons[-1].text == NODES[leaf].rationale


def test_the_branch_table_reaches_every_leaf() -> None:
    leaves = {node.id for node in FLOW if node.is_leaf}
    assert {case[2] for case in BRANCHES} == leaves


def _domain(field: str) -> list[Any]:
    annotation = Deployment.model_fields[field].annotation
    values = [a for a in typing.get_args(annotation) if a is not type(None)]
    literal = [v for a in values if typing.get_origin(a) is Literal for v in typing.get_args(a)]
    if literal:
        return literal
    if values == [bool]:
        return [True, False]
    return [1, HIGH_CONCURRENCY - 1, HIGH_CONCURRENCY, 10_000]


def test_every_stated_answer_matches_exactly_one_edge() -> None:
    for node in FLOW:
        if node.is_leaf:
            continue
        if node.asks is None:
            cases = [
                Deployment(ttft_p99_target_ms=t, itl_p99_target_ms=i)
                for t, i in product([None, 100.0], [None, 10.0])
            ]
        else:
            cases = [Deployment(**{node.asks: value}) for value in _domain(node.asks)]
        assert len(cases) >= len(node.edges)
        for facts in cases:
            matching = [edge.to for edge in node.edges if edge.when(facts)]
            assert len(matching) == 1, (node.id, facts, matching)
            assert matching[0] in NODES


def test_every_node_is_reachable_from_the_root() -> None:
    seen: set[str] = set()
    todo = [ROOT]
    while todo:
        node = NODES[todo.pop()]
        seen.add(node.id)
        todo += [edge.to for edge in node.edges]
    assert seen == set(NODES)


def test_no_facts_starts_on_vllm_and_names_every_deciding_fact() -> None:
    decision = decide(None)
    assert decision.recommendation == "vllm"
    assert not decision.decided
    assert decision.path == [ROOT]
    asked = [node.asks for node in FLOW if node.asks is not None]
    assert decision.unknowns == asked
    for fact in asked:
        assert any(change.startswith(f"State {fact} ") for change in decision.changes)


def test_missing_concurrency_is_the_one_unknown_and_the_simplest_answer_is_taken() -> None:
    decision = decide(Deployment(**OPEN))
    assert decision.path[-1] == "load"
    assert decision.unknowns == ["expected_concurrency"]
    assert not decision.decided
    # Reachable from there: either (low load) and TensorRT-LLM (high load); either is simpler.
    assert decision.recommendation == "either"
    [stated] = [c for c in decision.changes if c.startswith("State expected_concurrency")]
    assert "TensorRT-LLM" in stated
    assert "either" in stated


def test_a_missing_fact_the_path_never_asks_is_not_an_unknown() -> None:
    decision = decide(Deployment(engine_pipeline=False))
    assert decision.decided
    assert decision.unknowns == []
    decision = decide(Deployment(**{**OPEN, "quantization": "awq"}))
    assert decision.path[-1] == "vllm_prequantized"
    assert decision.unknowns == []


def test_changes_name_the_other_answers_that_lead_elsewhere() -> None:
    decision = decide(Deployment(**FULL))
    assert decision.recommendation == "tensorrtllm"
    changed = {line.rsplit("(rule:", 1)[1].rstrip(").") for line in decision.changes}
    # Build-time quantization and the latency target lead to TensorRT-LLM too: not a change.
    assert changed == {"pipeline", "updates", "fleet", "checkpoint", "load"}
    assert {a.node for a in decision.alternatives} == changed | {"latency"}
    for alternative in decision.alternatives:
        assert alternative.outcomes
        assert (alternative.text in decision.changes) == (alternative.outcomes != ["tensorrtllm"])


def test_a_missing_fact_that_cannot_change_the_answer_is_not_an_unknown() -> None:
    decision = decide(Deployment(engine_pipeline=True, gpu_fleet="mixed"))
    # model_updates is missing; gpu_fleet is stated but below it.
    assert decision.path == ["pipeline", "updates"]
    # Whatever model_updates is, the mixed fleet ends at vLLM: the answer is already decided,
    # and the missing fact would not change it.
    assert decision.recommendation == "vllm"
    assert decision.decided
    assert decision.unknowns == []
    assert "every answer leads to vLLM" in decision.reasons[-1].text
