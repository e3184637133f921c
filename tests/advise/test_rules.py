"""The decision flow: every branch reached from stated facts, missing facts named when they
matter, no engine question for a team without engines, and the flow itself well formed (every
edge leads somewhere, one edge per answer)."""

from __future__ import annotations

import typing
from itertools import pairwise, product
from typing import Any, Literal

import pytest

from crossfade.advise.flow import (
    FLOW,
    FLOW_TODAY,
    HIGH_CONCURRENCY,
    LEGACY_FLOW,
    LEGACY_ROOT,
    NODES,
    ROOT,
    entry,
    reachable,
)
from crossfade.advise.rules import decide
from crossfade.spec.models import Deployment
from tests.advise.branches import BRANCHES, FULL, OPEN

LEGACY_NODES = {node.id for node in LEGACY_FLOW}


@pytest.mark.parametrize(
    ("facts", "leaf", "recommendation"),
    [case[1:] for case in BRANCHES],
    ids=[case[0] for case in BRANCHES],
)
def test_each_branch(facts: dict[str, Any], leaf: str, recommendation: str) -> None:
    decision = decide(Deployment(**facts))
    assert decision.path[-1] == decision.leaf == leaf
    assert decision.recommendation == recommendation == NODES[leaf].recommendation
    assert decision.decided
    assert decision.unknowns == []
    assert decision.path[0] == (LEGACY_ROOT if facts.get("tensorrtllm_runs_engines") else ROOT)
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


def test_the_legacy_entry_reaches_every_node_and_today_s_entry_only_today_s_flow() -> None:
    assert reachable(LEGACY_ROOT) == list(FLOW)
    assert reachable(ROOT) == list(FLOW_TODAY)
    assert not LEGACY_NODES & {node.id for node in FLOW_TODAY}


def test_no_facts_starts_on_vllm_and_names_every_deciding_fact() -> None:
    decision = decide(None)
    assert decision.recommendation == "vllm"
    assert not decision.decided
    assert decision.path == [ROOT]
    assert decision.leaf is None  # the simplest answer is where to start, not a presumed leaf
    # With no latency target, both loads end at "either": the load decides nothing yet.
    assert decision.unknowns == ["model_support", "quantization"]
    # A latency target makes every question of today's flow count.
    decision = decide(Deployment(ttft_p99_target_ms=500.0))
    asked = [node.asks for node in FLOW_TODAY if node.asks is not None]
    assert decision.unknowns == asked == ["model_support", "quantization", "expected_concurrency"]
    for fact in asked:
        assert any(change.startswith(f"State {fact} ") for change in decision.changes)


def _answers(field: str) -> list[Any]:
    return [None, *_domain(field)]


def test_a_team_without_engines_never_meets_an_engine_question() -> None:
    for engines, support, quantization, load, target in product(
        [None, False],
        _answers("model_support"),
        _answers("quantization"),
        [None, 8, 64],
        [None, 300.0],
    ):
        facts = Deployment(
            tensorrtllm_runs_engines=engines,
            model_support=support,
            quantization=quantization,
            expected_concurrency=load,
            ttft_p99_target_ms=target,
        )
        decision = decide(facts)
        assert entry(facts) == ROOT
        seen = {*decision.path, *(a.node for a in decision.alternatives)}
        seen |= {leaf for a in decision.alternatives for leaf in a.leaves}
        assert not seen & LEGACY_NODES, facts
        assert "tensorrtllm_runs_engines" not in decision.unknowns
        texts = [r.text for r in decision.reasons] + decision.changes
        assert not [t for t in texts if "engine" in t.lower()], facts


def test_a_team_on_engines_that_does_not_state_model_support_starts_on_the_nearest() -> None:
    decision = decide(Deployment(tensorrtllm_runs_engines=True))
    assert decision.path == [LEGACY_ROOT, "engine_model"]
    assert decision.recommendation == "tensorrtllm"  # not vLLM, the simplest elsewhere
    assert not decision.decided
    assert decision.unknowns == ["model_support"]
    assert decision.leaf == "migrate_llmapi"
    assert "start with the nearest" in decision.reasons[-2].text
    # The presumed leaf gives its reason, with its sources.
    assert decision.reasons[-1].source == "rule:migrate_llmapi"
    assert "1.3.0rc20" in decision.reasons[-1].text
    assert "v1.3.0rc20" in decision.reasons[-1].cites
    [stated] = [c for c in decision.changes if c.startswith("State model_support")]
    assert "yes -> TensorRT-LLM" in stated
    assert "vLLM only -> vLLM" in stated


def test_missing_concurrency_is_the_one_unknown_and_the_simplest_answer_is_taken() -> None:
    decision = decide(Deployment(**OPEN, ttft_p99_target_ms=500.0))
    assert decision.path[-1] == "load"
    assert decision.unknowns == ["expected_concurrency"]
    assert not decision.decided
    # Reachable from there: either (low load) and TensorRT-LLM (high load); either is simpler.
    assert decision.recommendation == "either"
    [stated] = [c for c in decision.changes if c.startswith("State expected_concurrency")]
    assert "TensorRT-LLM" in stated
    assert "either" in stated


def test_a_missing_fact_the_path_never_asks_is_not_an_unknown() -> None:
    decision = decide(Deployment(model_support="vllm_only"))
    assert decision.decided
    assert decision.unknowns == []
    decision = decide(Deployment(**{**OPEN, "quantization": "awq"}))
    assert decision.path[-1] == "vllm_awq_gptq"
    assert decision.unknowns == []


def test_changes_name_the_other_answers_that_lead_elsewhere() -> None:
    decision = decide(Deployment(**FULL))
    assert decision.recommendation == "tensorrtllm"
    changed = {line.rsplit("(rule:", 1)[1].rstrip(").") for line in decision.changes}
    # Only TensorRT-LLM supporting the model leads to TensorRT-LLM too: not a change, but an
    # alternative all the same.
    assert changed == {"support", "checkpoint", "load", "latency"}
    assert {a.node for a in decision.alternatives} == changed
    [same] = [a for a in decision.alternatives if a.outcomes == ["tensorrtllm"]]
    assert (same.node, same.answer) == ("support", "TensorRT-LLM only")
    for alternative in decision.alternatives:
        assert alternative.outcomes
        assert (alternative.text in decision.changes) == (alternative.outcomes != ["tensorrtllm"])


def test_a_missing_fact_that_cannot_change_the_answer_is_not_an_unknown() -> None:
    decision = decide(Deployment(**OPEN))
    # expected_concurrency is missing, but with no latency target both loads end at "either".
    assert decision.path == ["support", "checkpoint", "load"]
    assert decision.recommendation == "either"
    assert decision.decided
    assert decision.unknowns == []
    assert "every answer leads to either" in decision.reasons[-1].text
