"""A projection as advise's third kind of evidence: it confirms or overrules a speed rule of
thumb, never an operational constraint; a measurement of real backends overrules it; it counts
only near the stated concurrency and for the stated quantization; the advice says which
evidence decided."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossfade.advise.advice import Advice, build_advice
from crossfade.advise.render import render_json, render_markdown, render_text
from crossfade.cli import main
from crossfade.compare.model import Comparison
from crossfade.project.model import Projection, save_projection
from tests.advise.comparisons import make_comparison, write_comparison
from tests.advise.test_advice import BASE, HIGH_LOAD, OPEN, VLLM_AHEAD, spec_with
from tests.project.projections import projection

LOW_LOAD_16 = {**OPEN, "quantization": "fp8", "expected_concurrency": "16"}
HIGH_LOAD_FP8 = {**HIGH_LOAD, "quantization": "fp8"}
# Per GPU output tokens/s; TTFT and TPOT follow (the faster backend answers sooner).
TRT_AHEAD_FROM_16 = projection({1: 100, 16: 300, 64: 600}, {1: 100, 16: 240, 64: 450})
VLLM_AHEAD_EVERYWHERE = projection({1: 90, 16: 200, 64: 400}, {1: 100, 16: 260, 64: 520})
EVEN = projection({1: 100, 16: 250, 64: 500}, {1: 100, 16: 251, 64: 501})


def advise(facts: dict[str, str], projected: Projection | None, *comparisons: Comparison) -> Advice:
    named = [(f"results/{n}", c) for n, c in enumerate(comparisons)]
    given = ("projection.json", projected) if projected is not None else None
    return build_advice(spec_with(facts), "crossfade.yaml", named, given)


def test_a_projection_overrules_the_rule_of_thumb_and_says_it_decided() -> None:
    advice = advise(LOW_LOAD_16, TRT_AHEAD_FROM_16)  # the rules say "either" below 32
    assert advice.rule_recommendation == "either"
    assert advice.recommendation == "tensorrtllm"
    assert advice.overridden
    assert advice.decided_by == "projection"
    assert advice.projection is not None
    assert advice.projection.concurrency == 16
    assert advice.projection.counts
    markdown = render_markdown(advice)
    assert "**Projected evidence contradicts the rule of thumb" in markdown
    assert "Decided by: the projection (projection.json: projected at concurrency 16" in markdown
    assert "## Projection (AIConfigurator; projected, not measured)" in markdown
    assert "| output tokens/s per GPU | 300 | 240 | TensorRT-LLM by 25% |" in markdown
    assert (
        "- crossover, output tokens/s per GPU: TensorRT-LLM ahead from concurrency 16 on"
        in markdown
    )
    assert any(r.source == "projection:projection.json: projected at concurrency 16"
               and "contradicts the rule of thumb" in r.text for r in advice.reasons)  # fmt: skip
    assert any("overrules this projection" in change for change in advice.changes)


def test_a_projection_that_agrees_confirms_the_rule() -> None:
    advice = advise(HIGH_LOAD_FP8, TRT_AHEAD_FROM_16)  # 64 in flight with a TTFT target
    assert (advice.recommendation, advice.overridden) == ("tensorrtllm", False)
    assert advice.decided_by == "projection"
    assert "which confirms the rule of thumb" in render_text(advice)


def test_an_even_projection_confirms_either() -> None:
    advice = advise(LOW_LOAD_16, EVEN)
    assert (advice.recommendation, advice.decided_by) == ("either", "projection")


def test_a_measurement_of_real_backends_overrules_the_projection() -> None:
    measured = make_comparison({16: VLLM_AHEAD})
    advice = advise(LOW_LOAD_16, TRT_AHEAD_FROM_16, measured)
    assert advice.recommendation == "vllm"
    assert advice.decided_by == "measurement"
    assert "Decided by: a measurement of real TensorRT-LLM and vLLM" in render_text(advice)
    projected = [r for r in advice.reasons if r.source.startswith("projection:")]
    assert len(projected) == 1
    assert "overrules the projection" in projected[0].text


def test_an_emulated_measurement_leaves_the_projection_to_decide() -> None:
    emulated = make_comparison({16: VLLM_AHEAD}, emulated=True)
    advice = advise(LOW_LOAD_16, TRT_AHEAD_FROM_16, emulated)
    assert (advice.recommendation, advice.decided_by) == ("tensorrtllm", "projection")


def test_a_projection_never_lifts_an_operational_constraint() -> None:
    facts = {**LOW_LOAD_16, "model_support": "vllm_only"}
    advice = advise(facts, TRT_AHEAD_FROM_16)
    assert (advice.recommendation, advice.decided_by) == ("vllm", "rules")
    assert any("operational constraint" in r.text for r in advice.reasons)


@pytest.mark.parametrize(
    ("facts", "note"),
    [
        ({**LOW_LOAD_16, "expected_concurrency": "256"}, "far from the stated concurrency (256)"),
        (
            {**LOW_LOAD_16, "quantization": "none"},
            "projected for fp8 weights, the facts state none",
        ),
    ],
)
def test_a_projection_of_another_load_or_quantization_does_not_count(
    facts: dict[str, str], note: str
) -> None:
    advice = advise(facts, VLLM_AHEAD_EVERYWHERE)
    assert advice.projection is not None
    assert not advice.projection.counts
    assert note in advice.projection.notes[0]
    assert advice.decided_by == "rules"
    assert advice.recommendation == advice.rule_recommendation
    assert "Decided by: the rules (neither a measurement" in render_text(advice)


def test_without_a_projection_the_rules_decide() -> None:
    advice = advise(LOW_LOAD_16, None)
    assert (advice.decided_by, advice.projection) == ("rules", None)
    assert "Decided by: the rules (no measurement of real backends counts here)." in (
        render_text(advice)
    )


def test_the_json_carries_the_projection_and_who_decided() -> None:
    data = json.loads(render_json(advise(LOW_LOAD_16, VLLM_AHEAD_EVERYWHERE)))
    assert data["decided_by"] == "projection"
    assert data["recommendation"] == "vllm"
    assert data["projection"]["verdict"] == "vllm"
    assert [lead["leader"] for lead in data["projection"]["leads"]] == ["vllm"] * 3


def test_advise_takes_projection_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "crossfade.yaml"
    spec.write_text(_spec_text(LOW_LOAD_16))
    save_projection(tmp_path / "projected", VLLM_AHEAD_EVERYWHERE)
    write_comparison(tmp_path / "emulated", make_comparison({16: VLLM_AHEAD}, emulated=True))
    code = main(
        [
            "advise",
            str(spec),
            str(tmp_path / "emulated"),
            "--projection",
            str(tmp_path / "projected"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Recommendation: vLLM\n")
    assert "Decided by: the projection" in out
    assert "Projection (AIConfigurator; projected, not measured):" in out


def test_a_missing_projection_is_a_message_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "crossfade.yaml"
    spec.write_text(_spec_text(LOW_LOAD_16))
    assert main(["advise", str(spec), "--projection", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"crossfade advise: --projection: {tmp_path / 'nowhere'}: no projection")
    assert "written by `crossfade project`" in err


def _spec_text(facts: dict[str, str]) -> str:
    return BASE + "deployment:\n" + "".join(f"  {k}: {v}\n" for k, v in facts.items())
