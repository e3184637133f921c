"""Advice as plain text (safe to print through rich: no square brackets), Markdown or JSON.

Each output has the same parts in the same order: the recommendation, every reason with its
source, the seed article's matrix rows against today, the evidence table, what would change the
answer, the next steps, the decision flow.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import asdict
from typing import Any

from crossfade.advise.advice import Advice
from crossfade.advise.evidence import BACKEND_NAMES, MetricEvidence, PairEvidence
from crossfade.advise.flow import NODES, RECOMMENDATION_NAMES
from crossfade.advise.matrix import MatrixRow
from crossfade.advise.mermaid import flowchart
from crossfade.advise.projection import decided_line, projection_lines, projection_table
from crossfade.advise.rules import Reason
from crossfade.compare.verdicts import OUTCOME_WORDS

WIDTH = 100
COMMAND = re.compile(r"`[^`]*`")
KEEP = "\x1f"  # not whitespace to textwrap, and never in a command
# The engine side of an emulated pair is never called TensorRT-LLM, not even in a header.
EMULATED_ENGINE = "emulated engine"
MATRIX_TITLE = "The article says / today (TensorRT-LLM)"
MATRIX_COLUMNS = ("", "the article says", "today", "source")


def side_names(pair: PairEvidence) -> dict[str, str]:
    engine = EMULATED_ENGINE if pair.emulated else BACKEND_NAMES["tensorrtllm"]
    return {"tensorrtllm": engine, "vllm": BACKEND_NAMES["vllm"]}


def evidence_columns(pair: PairEvidence) -> tuple[str, ...]:
    engine = side_names(pair)["tensorrtllm"]
    return ("metric", engine, "vLLM", f"{engine} vs vLLM", "CI", "verdict")


def headline(advice: Advice) -> list[str]:
    lines = [f"Recommendation: {RECOMMENDATION_NAMES[advice.recommendation]}"]
    if advice.leaf is not None and NODES[advice.leaf].headline and not advice.overridden:
        lines.append(NODES[advice.leaf].headline)
    if advice.overridden:
        rule = RECOMMENDATION_NAMES[advice.rule_recommendation]
        kind = "Projected" if advice.decided_by == "projection" else "Measured"
        lines.append(
            f"{kind} evidence contradicts the rule of thumb ({rule}) and the evidence wins."
        )
    if not advice.decided:
        lines.append(f"Provisional: state {', '.join(advice.unknowns)} to decide.")
    lines.append(decided_line(advice.decided_by, advice.overridden, advice.projection))
    return lines


def mermaid_of(advice: Advice) -> str:
    return flowchart(advice.path, advice.recommendation if advice.overridden else None)


def render_text(advice: Advice) -> str:
    out = headline(advice)
    out += ["", "Why:"]
    out += [_bullet(f"{_cited(reason)} ({reason.source})") for reason in advice.reasons]
    out += ["", f"{MATRIX_TITLE}:"]
    out += [_bullet(_matrix_line(row)) for row in advice.matrix]
    if advice.evidence.pairs or advice.evidence.skipped:
        out += ["", "Evidence:"]
        for pair in advice.evidence.pairs:
            out.append(f"  {pair.where}{_pair_status(pair)}")
            rows = [evidence_columns(pair), *(_row(m, pair) for m in pair.metrics)]
            out += ["    " + line for line in _aligned(rows)]
        out += [_bullet(f"skipped {why}") for why in advice.evidence.skipped]
    if advice.projection is not None:
        out += ["", "Projection (AIConfigurator; projected, not measured):"]
        out += [_bullet(line) for line in projection_lines(advice.projection)]
        out += ["    " + line for line in _aligned(projection_table(advice.projection))]
    out += ["", "What would change the answer:"]
    out += [_bullet(change) for change in advice.changes] or ["  - nothing stated would"]
    out += ["", "Next steps:"]
    out += [_bullet(step, f"{n}.") for n, step in enumerate(advice.next_steps, 1)]
    out += ["", "Decision flow (Mermaid; the path taken is highlighted):", ""]
    out.append(mermaid_of(advice).rstrip("\n"))
    return "\n".join(out) + "\n"


def render_markdown(advice: Advice) -> str:
    head = headline(advice)
    out = [f"# {head[0]}", "", *(f"**{line}**" for line in head[1:])]
    out += ["", "## Why", ""]
    out += [f"- {_cited(reason)} (`{reason.source}`)" for reason in advice.reasons]
    out += ["", f"## {MATRIX_TITLE}", ""]
    out.append("| " + " | ".join(MATRIX_COLUMNS) + " |")
    out.append("|" + " --- |" * len(MATRIX_COLUMNS))
    out += [
        f"| {row.topic} | {row.article} | {row.today} | {row.source} |" for row in advice.matrix
    ]
    if advice.evidence.pairs or advice.evidence.skipped:
        out += ["", "## Evidence"]
        for pair in advice.evidence.pairs:
            out += ["", f"**{pair.where}**{_pair_status(pair)}", ""]
            columns = evidence_columns(pair)
            out.append("| " + " | ".join(columns) + " |")
            out.append("|" + " --- |" * len(columns))
            out += ["| " + " | ".join(_row(m, pair)) + " |" for m in pair.metrics]
        if advice.evidence.skipped:
            out += ["", *(f"- skipped {why}" for why in advice.evidence.skipped)]
    if advice.projection is not None:
        out += ["", "## Projection (AIConfigurator; projected, not measured)", ""]
        out += [f"- {line}" for line in projection_lines(advice.projection)]
        table = projection_table(advice.projection)
        if table:
            out += ["", "| " + " | ".join(table[0]) + " |", "|" + " --- |" * len(table[0])]
            out += ["| " + " | ".join(row) + " |" for row in table[1:]]
    out += ["", "## What would change the answer", ""]
    out += [f"- {change}" for change in advice.changes] or ["- nothing stated would"]
    out += ["", "## Next steps", ""]
    out += [f"{n}. {step}" for n, step in enumerate(advice.next_steps, 1)]
    out += ["", "## Decision flow", "", "```mermaid", mermaid_of(advice).rstrip("\n"), "```"]
    return "\n".join(out) + "\n"


def render_json(advice: Advice) -> str:
    data: dict[str, Any] = asdict(advice)
    data["recommendation_name"] = RECOMMENDATION_NAMES[advice.recommendation]
    data["mermaid"] = mermaid_of(advice)
    return json.dumps(data, indent=2) + "\n"


def _cited(reason: Reason) -> str:
    return f"{reason.text} Source: {reason.cites}." if reason.cites else reason.text


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _matrix_line(row: MatrixRow) -> str:
    return f"{row.topic}: the article says {row.article}; today {row.today} ({row.source})."


def _pair_status(pair: PairEvidence) -> str:
    state = "counts as evidence" if pair.counts else "does not count"
    notes = "".join(f"; {note}" for note in pair.notes)
    return f" ({state}{notes})"


def _row(metric: MetricEvidence, pair: PairEvidence) -> tuple[str, ...]:
    names = side_names(pair)
    verdict = names[metric.winner] + " ahead" if metric.winner else OUTCOME_WORDS[metric.outcome]
    return (
        metric.metric,
        f"{metric.tensorrtllm:.4g} {metric.unit}",
        f"{metric.vllm:.4g} {metric.unit}",
        f"{metric.change:+.1%} ({metric.better} is better)",
        f"{pair.confidence:.0%}: {metric.ci_low:+.1%} to {metric.ci_high:+.1%}",
        verdict,
    )


def _bullet(text: str, marker: str = "-") -> str:
    # Paths and names such as TensorRT-LLM stay whole on one line, and so does each `command`:
    # its spaces are held by a stand-in while the text is wrapped.
    held = COMMAND.sub(lambda match: match[0].replace(" ", KEEP), text)
    wrapped = textwrap.fill(
        held,
        WIDTH,
        initial_indent=f"  {marker} ",
        subsequent_indent=" " * (len(marker) + 3),
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapped.replace(KEEP, " ")
