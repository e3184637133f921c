"""Walk the decision flow (`flow.py`) over the stated facts: a pure function from `Deployment`
to a `Decision` that says what it recommends, by which path, why, and what would change it.

The walk starts where `flow.entry` says: the legacy question only for a team on engines. A
question whose fact is missing stops the walk there. If the answers still reachable from it
agree, that is the answer; otherwise advise takes the first reachable in the question's
`unstated` order (the simplest first: vLLM, then "either", then TensorRT-LLM; for a team on
engines the nearest first, TensorRT-LLM without engines) and names the missing facts that would
decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossfade.advise.flow import (
    NODES,
    RECOMMENDATION_NAMES,
    SIMPLEST_FIRST,
    Edge,
    Node,
    Recommendation,
    entry,
    name_of,
)
from crossfade.spec.models import Deployment


@dataclass(frozen=True)
class Reason:
    source: str  # "rule:<node id>", "measurement:<where>" or "spec:<field>"
    text: str
    cites: str = ""  # where the facts behind the text are published, when it rests on some


@dataclass(frozen=True)
class Alternative:
    """Another answer to a question on the path, and where the flow would then end."""

    node: str
    answer: str  # the edge label
    outcomes: list[Recommendation]  # simplest first; several when facts below are missing
    leaves: list[str]  # where the flow would end
    text: str


@dataclass(frozen=True)
class Decision:
    recommendation: Recommendation
    path: list[str]  # node ids from the entry: to a leaf, or to the question a missing fact stopped
    # The leaf the answer rests on: the path's end; or, where a question with a missing fact
    # takes its nearest answer (not merely the simplest), the one leaf that gives it.
    leaf: str | None
    reasons: list[Reason]
    unknowns: list[str]  # Deployment fields, not stated, whose value would change the answer
    changes: list[str]  # what would change the answer, one line each
    alternatives: list[Alternative]  # every other answer on the path, changing the answer or not
    decided: bool  # False: the answer is provisional until the unknowns are stated
    rule_of_thumb: bool  # the answer rests on a speed claim that measurement may override


def why_no_evidence_moves(decision: Decision) -> str | None:
    """Why no evidence (measured or projected) may change this answer; None when it may: the
    answer is decided and rests on a speed rule of thumb."""
    if decision.decided and decision.rule_of_thumb:
        return None
    if decision.decided:
        return f"rule:{decision.path[-1]} is an operational constraint, not a speed rule of thumb"
    return f"the rules wait on {', '.join(decision.unknowns)}"


def decide(facts: Deployment | None) -> Decision:
    facts = facts or Deployment()
    path: list[str] = []
    reasons: list[Reason] = []
    node = NODES[entry(facts)]
    while not node.is_leaf and not _unknown(node, facts):
        edge = _edge(node, facts)
        path.append(node.id)
        reasons.append(
            Reason(f"rule:{node.id}", f"{node.text} {edge.label} ({_stated(node, facts)})")
        )
        node = NODES[edge.to]
    path.append(node.id)
    leaves = _leaves(node, facts)
    possible = _recommendations(leaves)
    recommendation = next(r for r in node.unstated if r in possible)
    if node.is_leaf:
        reasons.append(Reason(f"rule:{node.id}", node.rationale, node.source))
    elif len(possible) == 1:
        text = (
            f"{node.text} Not stated ({node.asks}), but every answer leads to {_names(possible)}."
        )
        reasons.append(Reason(f"rule:{node.id}", text))
    else:
        text = (
            f"{node.text} Not stated ({node.asks}). The flow can still end at {_names(possible)}; "
            f"until it is stated, start with {_first(node)}: "
            f"{RECOMMENDATION_NAMES[recommendation]}."
        )
        reasons.append(Reason(f"rule:{node.id}", text))
    leaf = node.id if node.is_leaf else _nearest_leaf(node, leaves, recommendation)
    if leaf is not None and not node.is_leaf:
        reasons.append(Reason(f"rule:{leaf}", NODES[leaf].rationale, NODES[leaf].source))
    unknown_nodes = [n for n in _unknown_nodes(node, facts) if _splits(n, facts)]
    alternatives = [
        _alternative(NODES[node_id], edge, facts)
        for node_id in path[:-1]
        for edge in NODES[node_id].edges
        if edge is not _edge(NODES[node_id], facts)
    ]
    changes = [a.text for a in alternatives if set(a.outcomes) != {recommendation}]
    changes += [_if_stated(n, facts) for n in unknown_nodes]
    return Decision(
        recommendation=recommendation,
        path=path,
        leaf=leaf,
        reasons=reasons,
        unknowns=[str(n.asks) for n in unknown_nodes],
        changes=changes,
        alternatives=alternatives,
        decided=len(possible) == 1,
        rule_of_thumb=all(NODES[leaf].rule_of_thumb for leaf in leaves),
    )


def _nearest_leaf(node: Node, leaves: list[str], recommendation: Recommendation) -> str | None:
    if node.unstated == SIMPLEST_FIRST:
        return None  # the simplest answer is a place to start, not a presumed answer
    resting = {leaf for leaf in leaves if NODES[leaf].recommendation == recommendation}
    return resting.pop() if len(resting) == 1 else None


def _first(node: Node) -> str:
    if node.unstated == SIMPLEST_FIRST:
        return "the simplest"
    return "the nearest (the same backend without engines)"


def _unknown(node: Node, facts: Deployment) -> bool:
    return node.asks is not None and getattr(facts, node.asks) is None


def _edge(node: Node, facts: Deployment) -> Edge:
    return next(edge for edge in node.edges if edge.when(facts))


def _stated(node: Node, facts: Deployment) -> str:
    if node.asks is not None:
        return f"{node.asks}: {_value(getattr(facts, node.asks))}"
    return (
        f"ttft_p99_target_ms: {_value(facts.ttft_p99_target_ms)}, "
        f"itl_p99_target_ms: {_value(facts.itl_p99_target_ms)}"
    )


def _value(value: object) -> str:
    if value is None:
        return "not stated"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _leaves(node: Node, facts: Deployment) -> list[str]:
    """The leaves reachable from `node`: stated facts pick one edge, missing ones all of them."""
    if node.is_leaf:
        return [node.id]
    edges = node.edges if _unknown(node, facts) else (_edge(node, facts),)
    return [leaf for edge in edges for leaf in _leaves(NODES[edge.to], facts)]


def _recommendations(leaves: list[str]) -> set[Recommendation]:
    return {rec for leaf in leaves if (rec := NODES[leaf].recommendation) is not None}


def _unknown_nodes(node: Node, facts: Deployment) -> list[Node]:
    """The questions with a missing fact reachable from `node`, in the flow's order."""
    if node.is_leaf:
        return []
    if not _unknown(node, facts):
        return _unknown_nodes(NODES[_edge(node, facts).to], facts)
    below = [n for edge in node.edges for n in _unknown_nodes(NODES[edge.to], facts)]
    return [node, *below]


def _splits(node: Node, facts: Deployment) -> bool:
    """Whether the answer to this question changes the recommendation."""
    outcomes = [frozenset(_recommendations(_leaves(NODES[e.to], facts))) for e in node.edges]
    return len(set(outcomes)) > 1


def _names(recommendations: set[Recommendation]) -> str:
    ordered = [name_of(r) for r in SIMPLEST_FIRST if r in recommendations]
    if len(ordered) == 1:
        return ordered[0]
    return ", ".join(ordered[:-1]) + f" or {ordered[-1]}, depending on facts not stated"


def _alternative(node: Node, edge: Edge, facts: Deployment) -> Alternative:
    leaves = _leaves(NODES[edge.to], facts)
    outcomes = _recommendations(leaves)
    text = f"{node.text} If {edge.label}: {_names(outcomes)} (rule:{node.id})."
    ordered = [r for r in SIMPLEST_FIRST if r in outcomes]
    return Alternative(node.id, edge.label, ordered, leaves, text)


def _if_stated(node: Node, facts: Deployment) -> str:
    answers = "; ".join(
        f"{edge.label} -> {_names(_recommendations(_leaves(NODES[edge.to], facts)))}"
        for edge in node.edges
    )
    return f"State {node.asks} ({node.text}): {answers} (rule:{node.id})."
