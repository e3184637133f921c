"""The decision flow as a Mermaid `flowchart TD`, with the path taken highlighted.

It draws what can be reached from where the path starts: a team with no engines sees today's
flow only, a team on engines the legacy question and everything after it. Nodes and edges come
out in the flow's own order, so the same decision always gives the same text and the `linkStyle`
indices (Mermaid numbers edges by their order of definition) are stable.
"""

from __future__ import annotations

from crossfade.advise.flow import NODES, Recommendation, name_of, reachable

TAKEN_STYLE = "fill:#d8f0d8,stroke:#2e7d32,stroke-width:3px"
STOPPED_STYLE = "fill:#fff4cc,stroke:#b58900,stroke-width:3px,stroke-dasharray:5 5"
TAKEN_LINK_STYLE = "stroke:#2e7d32,stroke-width:3px"
EVIDENCE_NODE = "measured"


def flowchart(path: list[str], measured: Recommendation | None = None) -> str:
    """`path`: the node ids taken; it ends at a leaf or at the question a missing fact stopped.
    `measured`: the backend measured evidence chose over the rules, drawn after the leaf."""
    drawn = reachable(path[0])
    on_path = set(path)
    stopped = path[-1] if path and NODES[path[-1]].edges else None
    lines = ["flowchart TD"]
    for node in drawn:
        label = _quoted(node.text)
        lines.append(f"    {node.id}{{{label}}}" if node.edges else f"    {node.id}([{label}])")
    if measured is not None:
        evidence = _quoted(f"Measured: {name_of(measured)}")
        lines.append(f"    {EVIDENCE_NODE}([{evidence}])")
    taken_links: list[int] = []
    index = 0
    for node in drawn:
        for edge in node.edges:
            lines.append(f"    {node.id} -->|{_quoted(edge.label)}| {edge.to}")
            if node.id in on_path and edge.to in on_path:
                taken_links.append(index)
            index += 1
    if measured is not None:
        lines.append(f'    {path[-1]} -.->|"measured evidence overrides"| {EVIDENCE_NODE}')
        taken_links.append(index)
    lines.append(f"    classDef taken {TAKEN_STYLE}")
    lines.append(f"    classDef stopped {STOPPED_STYLE}")
    taken = [node_id for node_id in path if node_id != stopped]
    if measured is not None:
        taken.append(EVIDENCE_NODE)
    if taken:
        lines.append(f"    class {','.join(taken)} taken")
    if stopped is not None:
        lines.append(f"    class {stopped} stopped")
    if taken_links:
        lines.append(f"    linkStyle {','.join(map(str, taken_links))} {TAKEN_LINK_STYLE}")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    # Mermaid's quoted labels take any text but a double quote, which has its own entity.
    return '"' + text.replace('"', "#quot;") + '"'
