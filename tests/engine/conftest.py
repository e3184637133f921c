"""Engine folder fixtures built from the documented config.json layout, and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from crossfade import cli
from tests.support.cli_result import CliResult
from tests.support.engine_folders import make_engine


@pytest.fixture(name="make_engine")
def make_engine_fixture() -> Callable[..., Path]:
    return make_engine


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `crossfade ...` in-process and capture its exit code and output."""

    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        exit_code = cli.main(list(argv))
        captured = capsys.readouterr()
        return CliResult(exit_code, captured.out, captured.err)

    return run
