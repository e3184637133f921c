"""The canary plan: a valid file loads, every mistake names the file, the line and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crossfade.cli.canary import EXAMPLE
from crossfade.spec.canary_plan import PlanError, load_plan, parse_plan

VALID = """\
version: 1
router: {admin_url: "http://127.0.0.1:18801/", token_env: MY_TOKEN}
incumbent: vllm-triton
candidate: trtllm-ensemble
steps: [shadow, 5, 20, 50, 100]
step:
  min_duration_s: 60
  min_samples: 200
  max_duration_s: 300
  interval_s: 10
gates:
  ttft_p95_ratio_max: 1.25
  itl_p95_ratio_max: 1.25
  error_rate_delta_max: 0.01
journal: runs/canary.jsonl
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(write(tmp_path, text))
    return [str(p) for p in caught.value.problems]


def test_a_valid_plan_loads_with_defaults_and_the_journal_next_to_it(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, VALID))
    assert plan.steps == ["shadow", 5, 20, 50, 100]
    assert plan.router.admin_url == "http://127.0.0.1:18801"
    assert plan.on_unclear == "pause"
    assert plan.gates.min_samples == 20
    assert plan.gates.slo is None
    assert plan.journal == tmp_path / "runs" / "canary.jsonl"


def test_an_absolute_journal_is_kept(tmp_path: Path) -> None:
    journal = tmp_path / "elsewhere.jsonl"
    plan = load_plan(write(tmp_path, VALID.replace("runs/canary.jsonl", str(journal))))
    assert plan.journal == journal


def test_the_example_in_the_help_is_a_valid_plan() -> None:
    text = "\n".join(line[2:] for line in EXAMPLE.split("\n\n")[0].splitlines()[1:])
    plan = parse_plan(text)
    assert plan.gates.slo is not None
    assert plan.gates.length_mismatch_delta_max == 0.01


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("steps: [shadow, 5, 20, 50, 100]", "steps: [shadow, 20, 5, 100]",
         r"plan\.yaml:5: steps: percentages must increase"),
        ("steps: [shadow, 5, 20, 50, 100]", "steps: [shadow, 5, 50]",
         r"plan\.yaml:5: steps: the last step must be 100"),
        ("steps: [shadow, 5, 20, 50, 100]", "steps: [5, shadow, 100]",
         r"plan\.yaml:5: steps: 'shadow' can only be the first step"),
        ("steps: [shadow, 5, 20, 50, 100]", "steps: [shadow, 0, 101]",
         r"plan\.yaml:5: steps\[1\]: a step is 'shadow' or the candidate's percentage"),
        ("candidate: trtllm-ensemble", "candidate: vllm-triton",
         r"plan\.yaml:4: candidate: 'vllm-triton' is the incumbent too"),
        ("  max_duration_s: 300", "  max_duration_s: 30",
         r"plan\.yaml:6: step: max_duration_s \(30\) is below min_duration_s \(60\)"),
        ("  interval_s: 10", "  interval_s: 90",
         r"plan\.yaml:6: step: interval_s \(90\) is longer than min_duration_s"),
        ("  interval_s: 10", "  interval_s: 10\n  settle_s: 60",
         r"plan\.yaml:6: step: settle_s \(60\) is not shorter than min_duration_s \(60\)"),
        ("  min_samples: 200", "  min_samples: 15",  # below gates.min_samples' default, 20
         r"plan\.yaml:8: step\.min_samples: 15 is below gates\.min_samples \(20\)"),
        ("  error_rate_delta_max: 0.01", "  error_rate_delta_max: 0.01\n  min_samples: 300",
         r"plan\.yaml:8: step\.min_samples: 200 is below gates\.min_samples \(300\)"),
        ("  itl_p95_ratio_max: 1.25", "  itl_p95_ratio_mx: 1.25",
         r"plan\.yaml:13: gates\.itl_p95_ratio_mx: unknown key \(did you mean 'itl_p95_ratio_max'"),
        ("  error_rate_delta_max: 0.01", "  error_rate_delta_max: 2",
         r"plan\.yaml:14: gates\.error_rate_delta_max: .*less than or equal to 1 \(got 2\)"),
        ("version: 1", "version: 2", r"plan\.yaml:1: version: .*\(got 2\)"),
        ('router: {admin_url: "http://127.0.0.1:18801/", token_env: MY_TOKEN}',
         "router: {admin_url: 127.0.0.1:18801}",
         r"plan\.yaml:2: router\.admin_url: must start with http://"),
        ("journal: runs/canary.jsonl\n", "",
         r"plan\.yaml:1: journal: Field required \(add 'journal:'\)"),
        ("incumbent: vllm-triton", "incumbent: vllm-triton\nincumbent: other",
         r"plan\.yaml:4: incumbent: duplicate key"),
    ],
)  # fmt: skip
def test_mistakes_are_located(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in VALID
    found = problems(tmp_path, VALID.replace(old, new))
    assert any(re.search(expected, p) for p in found), found


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = VALID.replace("on_unclear", "x").replace("version: 1", "version: 1\nonunclear: wait")
    found = problems(tmp_path, text)
    assert any("onunclear: unknown key (did you mean 'on_unclear'?)" in p for p in found)
    text = VALID.replace("steps: [shadow, 5, 20, 50, 100]", "steps: [shadow, x]").replace(
        "min_samples: 200", "min_samples: 0"
    )
    found = problems(tmp_path, text)
    assert len(found) == 2, found


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PlanError, match=re.escape(f"{missing}: no such file")):
        load_plan(missing)
    assert problems(tmp_path, "steps: [5, 100\n")[0].startswith(f"{tmp_path / 'plan.yaml'}:")
    assert "invalid YAML" in problems(tmp_path, "steps: [5, 100\n")[0]
    assert "a plan is a mapping" in problems(tmp_path, "- 5\n")[0]
