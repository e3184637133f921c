"""Rules and measurements together: significant real evidence that contradicts a speed rule of
thumb wins and says so; emulated, mixed or insignificant evidence does not; operational
constraints stand whatever was measured; the next steps follow the answer (tests/advise/
test_legacy.py has the team on engines)."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from crossfade.advise.advice import Advice, build_advice
from crossfade.advise.evidence import EMULATED_LABEL
from crossfade.advise.flow import NODES
from crossfade.advise.render import render_json, render_markdown, render_text
from crossfade.compare.model import Comparison
from crossfade.spec import parse_spec
from crossfade.spec.models import Spec
from tests.advise.commands import shown_commands
from tests.advise.comparisons import Figures, make_comparison

BASE = """\
model:
  name: tiny
  tokenizer: /models/tiny
gpu: L40S
tensorrtllm:
  image: 26.11-trtllm-python-py3
  llm_args:
    model: /models/tiny
vllm:
  image: 25.12-vllm-python-py3
  engine_args:
    model: /models/tiny
"""
OPEN = {"model_support": "both", "quantization": "none"}
HIGH_LOAD = {**OPEN, "expected_concurrency": "64", "ttft_p99_target_ms": "500"}
LOW_LOAD = {**OPEN, "expected_concurrency": "8"}
VLLM_AHEAD: Figures = {
    "output_token_throughput": (1100.0, 1300.0, True),
    "ttft_p99": (480.0, 470.0, False),
    "itl_p99": (22.0, 18.0, True),
}
TRT_AHEAD: Figures = {
    "output_token_throughput": (1400.0, 1000.0, True),
    "itl_p99": (15.0, 20.0, True),
}
CONTRADICTION = "measured evidence contradicts the rule of thumb"


def spec_with(facts: dict[str, str]) -> Spec:
    lines = "".join(f"  {key}: {value}\n" for key, value in facts.items())
    return parse_spec(BASE + "deployment:\n" + lines, "crossfade.yaml")


def advise(facts: dict[str, str], *comparisons: Comparison) -> Advice:
    named = [(f"results/{n}", c) for n, c in enumerate(comparisons)]
    return build_advice(spec_with(facts), "crossfade.yaml", named)


def reason_texts(advice: Advice, prefix: str) -> list[str]:
    return [r.text for r in advice.reasons if r.source.startswith(prefix)]


def test_rules_alone_when_there_is_no_evidence() -> None:
    advice = advise(HIGH_LOAD)
    assert advice.recommendation == advice.rule_recommendation == "tensorrtllm"
    assert not advice.overridden
    assert reason_texts(advice, "measurement:") == []
    assert any("confirm this rule of thumb or override it" in c for c in advice.changes)


def test_evidence_that_contradicts_the_rule_of_thumb_wins_and_says_so() -> None:
    advice = advise(HIGH_LOAD, make_comparison({64: VLLM_AHEAD}))
    assert advice.rule_recommendation == "tensorrtllm"
    assert advice.recommendation == "vllm"
    assert advice.overridden
    [verdict] = [t for t in reason_texts(advice, "measurement:") if CONTRADICTION in t]
    assert "rule:trtllm_latency" in verdict
    assert "output_token_throughput" in verdict
    assert "itl_p99" in verdict
    assert "ttft_p99" not in verdict  # not significant: not a reason
    for text in (render_text(advice), render_markdown(advice)):
        assert "Measured evidence contradicts the rule of thumb" in text
        assert CONTRADICTION in text
    # Answers that end at vLLM anyway, or at another speed rule the same evidence would
    # override, are no longer changes; a different load is, since it was not measured.
    assert not any("(rule:pipeline)" in c for c in advice.changes)
    assert not any("(rule:latency)" in c for c in advice.changes)
    [load] = [c for c in advice.changes if "(rule:load)" in c]
    assert "may not carry over" in load


def test_evidence_for_tensorrtllm_overrides_little_difference_at_low_load() -> None:
    advice = advise(LOW_LOAD, make_comparison({8: TRT_AHEAD}, trt_first=False))
    assert advice.path[-1] == "either_low_load"
    assert advice.rule_recommendation == "either"
    assert advice.recommendation == "tensorrtllm"
    assert any(CONTRADICTION in t for t in reason_texts(advice, "measurement:"))
    assert advice.next_steps[0].startswith("Serve both backends from one spec:")


def test_emulated_evidence_does_not_override() -> None:
    advice = advise(HIGH_LOAD, make_comparison({64: VLLM_AHEAD}, emulated=True))
    assert advice.recommendation == "tensorrtllm"
    assert not advice.overridden
    [shown] = reason_texts(advice, "measurement:")
    assert shown.startswith(EMULATED_LABEL)
    assert not any(CONTRADICTION in t for t in reason_texts(advice, ""))
    assert EMULATED_LABEL in render_text(advice)


def test_an_emulated_engine_is_never_named_tensorrtllm_in_the_evidence_tables() -> None:
    engine_ahead = {"output_token_throughput": (2000.0, 1000.0, True)}
    advice = advise(LOW_LOAD, make_comparison({8: engine_ahead}, emulated=True))
    for rendered in (render_text(advice), render_markdown(advice)):
        tables = rendered.split("Evidence")[1].split("What would change")[0]
        assert "emulated engine ahead" in tables
        assert "TensorRT-LLM ahead" not in tables
        assert "| TensorRT-LLM |" not in tables
        header = next(line for line in tables.splitlines() if "metric" in line)
        assert "TensorRT-LLM" not in header


def test_agreeing_evidence_is_reported_as_agreement() -> None:
    advice = advise(HIGH_LOAD, make_comparison({64: TRT_AHEAD}))
    assert advice.recommendation == "tensorrtllm"
    assert not advice.overridden
    assert any("agrees with rule:trtllm_latency" in t for t in reason_texts(advice, "measure"))


def test_no_significant_difference_does_not_override_but_is_said() -> None:
    flat: Figures = {"output_token_throughput": (1010.0, 1000.0, False)}
    advice = advise(HIGH_LOAD, make_comparison({64: flat}))
    assert advice.recommendation == "tensorrtllm"
    assert any("no significant difference measured" in t for t in reason_texts(advice, "meas"))


def test_mixed_evidence_leaves_the_rule_standing() -> None:
    split: Figures = {
        "output_token_throughput": (1400.0, 1000.0, True),
        "ttft_p99": (700.0, 400.0, True),
    }
    advice = advise(HIGH_LOAD, make_comparison({64: split}))
    assert advice.recommendation == "tensorrtllm"
    assert any("mixed" in t for t in reason_texts(advice, "measurement:"))


def test_evidence_does_not_lift_an_operational_constraint() -> None:
    facts: dict[str, Any] = {**HIGH_LOAD, "model_support": "vllm_only"}
    advice = advise(facts, make_comparison({64: TRT_AHEAD}))
    assert advice.recommendation == "vllm"
    assert not advice.overridden
    assert any("operational constraint" in t for t in reason_texts(advice, "measurement:"))
    assert not NODES[advice.path[-1]].rule_of_thumb


def test_evidence_does_not_settle_a_missing_fact() -> None:
    facts = {k: v for k, v in HIGH_LOAD.items() if k != "quantization"}
    advice = advise(facts, make_comparison({64: TRT_AHEAD}))
    assert advice.recommendation == "vllm"
    assert not advice.decided
    assert advice.unknowns == ["quantization"]
    assert any("the rules wait on quantization" in t for t in reason_texts(advice, "measurement:"))
    assert any("State quantization under deployment:" in step for step in advice.next_steps)


def test_next_steps_for_tensorrtllm_serve_both_measure_canary_and_keep_vllm() -> None:
    steps = advise(HIGH_LOAD).next_steps
    assert steps[0] == (
        "Serve both backends from one spec: `crossfade render triton crossfade.yaml -o "
        "model_repos`, then `crossfade lint model_repos`."
    )
    assert "crossfade compare" in steps[1]
    assert "crossfade canary" in steps[2]
    assert "fallback" in steps[3]
    assert len(steps) == 4


def test_next_steps_for_vllm_start_there_and_say_when_to_go_on() -> None:
    steps = advise({**HIGH_LOAD, "model_support": "vllm_only"}).next_steps
    assert steps[0].startswith(
        "Start on vLLM: `crossfade render triton crossfade.yaml -o model_repos`"
    )
    assert "canary" in steps[-1]


def test_a_spec_without_a_tensorrtllm_section_is_told_to_add_one_for_the_llmapi_model() -> None:
    trt = BASE.index("tensorrtllm:")
    without = BASE[:trt] + BASE[BASE.index("vllm:") :]
    spec = parse_spec(without + "deployment:\n  model_support: tensorrtllm_only\n", "c.yaml")
    steps = build_advice(spec, "c.yaml", []).next_steps
    assert steps[0] == (
        "Serve both backends from one spec: add a tensorrtllm: section (layout: llmapi, an image "
        "whose TensorRT-LLM is 1.0 or later, and llm_args with model: the Hugging Face "
        "checkpoint) to c.yaml, then `crossfade render triton c.yaml -o model_repos`, then "
        "`crossfade lint model_repos`."
    )


@pytest.mark.parametrize(
    "facts",
    [
        HIGH_LOAD,  # TensorRT-LLM: serve both, measure, canary, keep vLLM
        {**HIGH_LOAD, "model_support": "vllm_only"},  # vLLM
        LOW_LOAD,  # either: measure both
        {k: v for k, v in HIGH_LOAD.items() if k != "quantization"},  # provisional: advise again
        {},  # nothing stated
    ],
)
@pytest.mark.parametrize("layout", ["llmapi", "no tensorrtllm section"])
def test_without_engines_no_step_builds_or_checks_an_engine(
    facts: dict[str, str], layout: str
) -> None:
    spec = spec_with(facts)
    if layout != "llmapi":
        spec = spec.model_copy(update={"tensorrtllm": None})
    advice = build_advice(spec, "crossfade.yaml", [])
    for text in (*advice.next_steps, *advice.changes, *(r.text for r in advice.reasons)):
        assert "engine" not in text.lower(), text
    for rendered in (render_text(advice), render_markdown(advice), render_json(advice)):
        if rendered.startswith("{"):
            data = json.loads(rendered)
            assert "engine" not in data["mermaid"].lower()
            assert "engine" not in json.dumps(data["next_steps"]).lower()
            continue
        # Only the article's side of the matrix rows speaks of engines.
        outside_matrix = (
            rendered.split("The article says / today")[0]
            + rendered.split("What would change the answer")[1]
        )
        assert "engine" not in outside_matrix.lower()
        assert "flowchart TD" in outside_matrix


@pytest.mark.parametrize(
    "facts",
    [
        HIGH_LOAD,  # TensorRT-LLM: the whole path
        {**HIGH_LOAD, "model_support": "vllm_only"},  # vLLM
        LOW_LOAD,  # either: measure both
        {k: v for k, v in HIGH_LOAD.items() if k != "quantization"},  # provisional: advise again
    ],
)
def test_every_command_in_the_next_steps_runs_as_printed(facts: dict[str, str]) -> None:
    path = "my specs/it's.yaml"  # a space and a quote: shell-quoted, one argument
    advice = build_advice(spec_with(facts), path, [("results/a b", make_comparison({8: {}}))])
    commands = shown_commands(advice.next_steps)
    assert ["crossfade", "render", "triton", path, "-o", "model_repos"] in commands
    with_spec = [argv for argv in commands if argv[1] in ("advise",) or argv[2:3] == ["triton"]]
    assert all(path in argv for argv in with_spec)
    if "quantization" not in facts:
        assert ["crossfade", "advise", path, "results/a b"] in commands
    # Printed as text, each command stays whole on one line.
    text = render_text(advice)
    for argv in commands:
        assert any(shlex.join(argv) in line for line in text.splitlines()), argv
