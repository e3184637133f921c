"""The team on the legacy engine ensemble: a spec with the engine layout (or the fact) gets the
migration off the engines, says why with its sources, and gives runnable steps: the LLM API
model, both benchmarked, a canary from one to the other, vLLM kept as the fallback."""

from __future__ import annotations

import json
import shlex

import pytest

from crossfade.advise.advice import Advice, build_advice
from crossfade.advise.flow import LEGACY_ROOT, ROOT
from crossfade.advise.render import render_json, render_markdown, render_text
from crossfade.advise.sources import BACKEND_REMOVAL, CPP_BACKEND_REMOVED, LAST_ENGINE_RELEASE
from crossfade.spec import parse_spec
from tests.advise.commands import shown_commands
from tests.advise.comparisons import make_comparison

MODEL = """\
model:
  name: tiny
  tokenizer: /models/tiny
"""
ENGINE = """\
tensorrtllm:
  image: 25.12-trtllm-python-py3
  engine_dir: /engines/tiny
"""
LLMAPI = """\
tensorrtllm:
  image: 26.11-trtllm-python-py3
  llm_args:
    model: /models/tiny
"""
VLLM = """\
vllm:
  image: 25.12-vllm-python-py3
  engine_args:
    model: /models/tiny
"""
HEADLINE = "Move the engine ensemble to TensorRT-LLM's LLM API model (no engine build)."


def advise(text: str, path: str = "crossfade.yaml") -> Advice:
    return build_advice(parse_spec(text, path), path, [])


def test_an_engine_spec_is_advised_to_migrate_and_told_why_with_sources() -> None:
    advice = advise(MODEL + "gpu: L40S\n" + ENGINE + VLLM)
    assert advice.path == [LEGACY_ROOT, "engine_model"]  # model_support not stated
    assert advice.recommendation == "tensorrtllm"
    assert advice.leaf == "migrate_llmapi"
    [spec_reason] = [r for r in advice.reasons if r.source == "spec:tensorrtllm"]
    assert "engine layout (engine_dir /engines/tiny)" in spec_reason.text
    [why] = [r for r in advice.reasons if r.source == "rule:migrate_llmapi"]
    assert "1.3.0rc20 is the last release that runs a TensorRT engine" in why.text
    assert "inflight_batcher_llm" in why.text
    for source in (LAST_ENGINE_RELEASE, CPP_BACKEND_REMOVED, BACKEND_REMOVAL):
        assert source in why.cites
    text = " ".join(render_text(advice).split())
    assert text.startswith(f"Recommendation: TensorRT-LLM {HEADLINE} Provisional:")
    assert f"Source: {LAST_ENGINE_RELEASE}; {CPP_BACKEND_REMOVED}; {BACKEND_REMOVAL}" in text
    markdown = render_markdown(advice)
    assert markdown.startswith(f"# Recommendation: TensorRT-LLM\n\n**{HEADLINE}**\n")
    assert LAST_ENGINE_RELEASE in markdown
    data = json.loads(render_json(advice))
    [cited] = [r for r in data["reasons"] if r["source"] == "rule:migrate_llmapi"]
    assert cited["cites"] == why.cites


def test_the_migration_steps_run_as_printed() -> None:
    path = "my specs/it's.yaml"  # a space and a quote: shell-quoted, one argument
    advice = advise(MODEL + "gpu: L40S\n" + ENGINE + VLLM, path)
    steps = advice.next_steps
    copy = "my specs/it's-llmapi.yaml"
    assert steps[0].startswith(f"Write the LLM API model's spec: copy {path} to {copy} and")
    assert "layout: llmapi" in steps[0]
    assert "Nothing is built" in steps[0]
    assert steps[1].startswith("State model_support under deployment:")
    assert "1.3.0rc20 is the last that runs one" in steps[2]
    assert "`triton-trtllm://HOST:8000/tensorrt_llm`" in steps[3]
    assert steps[4].startswith("Canary from the ensemble to the LLM API model:")
    assert steps[5].startswith("Keep vLLM deployed as the fallback")
    commands = shown_commands(steps)
    expected = [
        ["crossfade", "render", "triton", copy, "-o", "model_repos_llmapi"],
        ["crossfade", "lint", "model_repos_llmapi"],
        ["crossfade", "advise", path],
        ["crossfade", "engine", "check", "/engines/tiny", "--gpu", "L40S", "--image",
         "25.12-trtllm-python-py3"],
        ["crossfade", "compare", "--help"],
        ["crossfade", "report", "migration", "-o", "migration.html"],
        ["crossfade", "route", "--help"],
        ["crossfade", "canary", "--help"],
    ]  # fmt: skip
    assert commands == expected
    text = render_text(advice)
    for argv in commands:
        assert any(shlex.join(argv) in line for line in text.splitlines()), argv


def test_without_a_gpu_the_engine_check_names_none_and_says_how() -> None:
    advice = advise(MODEL + ENGINE + VLLM)
    [check] = [a for a in shown_commands(advice.next_steps) if a[1:3] == ["engine", "check"]]
    assert "--gpu" not in check
    assert any("state gpu: in crossfade.yaml to check the GPU" in s for s in advice.next_steps)


def test_a_model_only_vllm_supports_moves_the_engines_to_vllm() -> None:
    advice = advise(MODEL + ENGINE + "deployment:\n  model_support: vllm_only\n")
    assert advice.path == [LEGACY_ROOT, "engine_model", "legacy_to_vllm"]
    assert advice.recommendation == "vllm"
    assert render_text(advice).splitlines()[1] == "Move the engine ensemble to vLLM."
    steps = advice.next_steps
    assert steps[0] == (
        "Serve the model on vLLM: add a vllm: section to crossfade.yaml, then "
        "`crossfade render triton crossfade.yaml -o model_repos`, then "
        "`crossfade lint model_repos`."
    )
    assert "`triton-vllm://HOST:8000/vllm_model`" in steps[2]
    assert steps[3].startswith("Canary from the ensemble to vLLM:")
    assert steps[-1].startswith("Retire the ensemble once vLLM holds all traffic")
    shown_commands(steps)


def test_the_fact_alone_takes_an_llmapi_spec_to_the_migration() -> None:
    facts = "deployment:\n  tensorrtllm_runs_engines: true\n  model_support: both\n"
    advice = advise(MODEL + LLMAPI + facts)
    assert advice.path == [LEGACY_ROOT, "engine_model", "migrate_llmapi"]
    assert advice.decided
    assert advice.next_steps[0] == (
        "Serve the LLM API model crossfade.yaml describes: "
        "`crossfade render triton crossfade.yaml -o model_repos`, then "
        "`crossfade lint model_repos`."
    )
    assert not any("engine check" in step for step in advice.next_steps)  # no engine_dir known
    assert advice.next_steps[-1].startswith(
        "Add a vllm: section to crossfade.yaml and keep vLLM deployed as the fallback"
    )


def test_an_engine_layout_is_the_legacy_deployment_whatever_the_fact_says() -> None:
    advice = advise(MODEL + ENGINE + "deployment:\n  tensorrtllm_runs_engines: false\n")
    assert advice.path[0] == LEGACY_ROOT


def test_the_lab_s_emulated_engine_is_not_a_legacy_deployment() -> None:
    emulated = ENGINE + "  triton_backend: python\n  emulator: {}\n"
    advice = advise(MODEL + emulated + VLLM)
    assert advice.path[0] == ROOT
    assert not any(r.source == "spec:tensorrtllm" for r in advice.reasons)


@pytest.mark.parametrize("winner", ["vllm", "tensorrtllm"])
def test_measurements_do_not_lift_the_migration(winner: str) -> None:
    figures = {"output_token_throughput": (1000.0, 1400.0, True)}
    if winner == "tensorrtllm":
        figures = {"output_token_throughput": (1400.0, 1000.0, True)}
    facts = "deployment:\n  model_support: both\n  expected_concurrency: 8\n"
    spec = parse_spec(MODEL + ENGINE + VLLM + facts, "crossfade.yaml")
    advice = build_advice(spec, "crossfade.yaml", [("sweep", make_comparison({8: figures}))])
    assert advice.recommendation == "tensorrtllm"
    assert not advice.overridden
    assert any("rule:migrate_llmapi is an operational constraint" in r.text for r in advice.reasons)
