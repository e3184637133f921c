"""`crossfade canary PLAN` against `FakeRouterAdmin` (a test double of the router's admin API)
served from a thread, on the real clock with sub-second steps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossfade.cli import main
from crossfade.rollout.canary.journal import read_journal
from tests.rollout.canary.fakes import TOKEN, FakeRouterAdmin, Profile

pytestmark = pytest.mark.servers

PLAN = """\
version: 1
router: {{admin_url: "{url}", token_env: CANARY_TEST_TOKEN}}
incumbent: incumbent
candidate: candidate
steps: [shadow, 50, 100]
step: {{min_duration_s: 0.4, min_samples: {samples}, max_duration_s: 1.0, interval_s: 0.1}}
gates: {{ttft_p95_ratio_max: 1.5, itl_p95_ratio_max: 1.5, error_rate_delta_max: 0.05}}
journal: canary.jsonl
"""


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANARY_TEST_TOKEN", TOKEN)


@pytest.fixture
def router() -> Iterator[FakeRouterAdmin]:
    profiles = {"incumbent": Profile(), "candidate": Profile()}
    with FakeRouterAdmin(time.monotonic, profiles, rate=500.0).in_thread() as served:
        yield served


def write_plan(folder: Path, router: FakeRouterAdmin, samples: int = 40) -> Path:
    path = folder / "plan.yaml"
    path.write_text(PLAN.format(url=router.admin_url, samples=samples), encoding="utf-8")
    return path


@pytest.mark.usefixtures("token")
def test_promote_then_a_finished_journal_then_restart(
    tmp_path: Path, router: FakeRouterAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path, router)
    assert main(["canary", str(plan)]) == 0
    out = capsys.readouterr().out
    assert "set_traffic" in out
    assert "promote" in out
    assert "[incumbent 0, candidate 100]" in out
    assert f"promoted; journal: {tmp_path / 'canary.jsonl'}" in out
    assert router.weights == {"incumbent": 0, "candidate": 100}

    assert main(["canary", str(plan)]) == 2
    assert "already ended (promoted" in capsys.readouterr().err

    assert main(["canary", str(plan), "--restart"]) == 0
    starts = [r for r in read_journal(tmp_path / "canary.jsonl") if r["kind"] == "start"]
    assert len(starts) == 2


@pytest.mark.usefixtures("token")
def test_a_failing_candidate_exits_1(
    tmp_path: Path, router: FakeRouterAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    router.profiles["candidate"] = Profile(error_rate=0.5)
    assert main(["canary", str(write_plan(tmp_path, router))]) == 1
    out = capsys.readouterr().out
    assert "rollback" in out
    assert "error_rate_delta" in out
    assert router.weights == {"incumbent": 100, "candidate": 0}


@pytest.mark.usefixtures("token")
def test_a_pause_exits_1_and_a_second_run_resumes_the_step(
    tmp_path: Path, router: FakeRouterAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path, router, samples=100_000)  # never enough: unclear at 1 s
    assert main(["canary", str(plan)]) == 1
    assert "paused for a person" in capsys.readouterr().out
    plan.write_text(plan.read_text().replace("100000", "40"))
    assert main(["canary", str(plan)]) == 0
    assert "resumed after a pause" in capsys.readouterr().out


@pytest.mark.usefixtures("token")
def test_abort(tmp_path: Path, router: FakeRouterAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["canary", str(write_plan(tmp_path, router)), "--abort"]) == 1
    assert "aborted by the operator" in capsys.readouterr().out
    assert router.weights == {"incumbent": 100, "candidate": 0}


def test_a_missing_token_is_bad_input(
    tmp_path: Path,
    router: FakeRouterAdmin,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CANARY_TEST_TOKEN", raising=False)
    assert main(["canary", str(write_plan(tmp_path, router))]) == 2
    err = capsys.readouterr().err
    assert "router.token_env names CANARY_TEST_TOKEN, which is not set" in err
    assert not (tmp_path / "canary.jsonl").exists()


@pytest.mark.usefixtures("token")
def test_a_bad_plan_is_bad_input(
    tmp_path: Path, router: FakeRouterAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path, router)
    plan.write_text(plan.read_text().replace("steps: [shadow, 50, 100]", "steps: [50, 20]"))
    assert main(["canary", str(plan)]) == 2
    assert f"{plan}:5: steps: percentages must increase" in capsys.readouterr().err


@pytest.mark.usefixtures("token")
def test_a_plan_without_router_says_how_to_run_it(
    tmp_path: Path, router: FakeRouterAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path, router)
    plan.write_text(
        "".join(line for line in plan.read_text().splitlines(True) if "router" not in line)
    )
    assert main(["canary", str(plan)]) == 2
    err = capsys.readouterr().err
    assert f"{plan}: router: missing" in err
    assert "crossfade route CONFIG --plan PLAN" in err
    assert not (tmp_path / "canary.jsonl").exists()
