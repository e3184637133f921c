"""Tests stand on their own: shared helpers live in tests/support, conftest modules hold only
fixtures and hooks, and the test tiers are the markers pytest knows."""

from __future__ import annotations

import ast
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import uvloop

from tests.support.paths import ROOT
from tests.support.tiers import TIERS, OutsideItsTier, no_servers, tiers_of

TESTS = ROOT / "tests"


def conftest_imports(root: Path) -> tuple[int, list[str]]:
    """(modules scanned, "file:line module" for each import of a conftest module) under root."""
    files = sorted(root.rglob("*.py"))
    found = []
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if any(name.split(".")[-1] == "conftest" for name in names):
                dots = "." * getattr(node, "level", 0)
                found.append(f"{file.relative_to(root)}:{node.lineno} {dots}{names[0]}")
    return len(files), found


def test_no_module_imports_from_a_conftest() -> None:
    scanned, found = conftest_imports(TESTS)
    assert scanned > 150  # the scan sees the tests
    assert found == [], "move what they import to tests/support"


def is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr == "fixture"


def test_conftest_modules_define_only_fixtures_and_hooks() -> None:
    conftests = sorted(TESTS.rglob("conftest.py"))
    assert len(conftests) >= 5
    helpers = []
    for file in conftests:
        for node in ast.parse(file.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                helpers.append(f"{file.relative_to(ROOT)}: class {node.name}")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                hook = node.name.startswith("pytest_")
                if not hook and not any(is_fixture(d) for d in node.decorator_list):
                    helpers.append(f"{file.relative_to(ROOT)}: def {node.name}")
    # tests/conftest.py's runner of its two hooks is the one function that is neither.
    assert helpers == ["tests/conftest.py: def in_its_tier"]


def test_the_tiers_are_the_registered_markers() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    markers = pyproject["tool"]["pytest"]["ini_options"]["markers"]
    assert sorted(marker.partition(":")[0] for marker in markers) == sorted(TIERS)


@pytest.mark.parametrize(
    ("path", "fixtures", "generated", "tiers"),
    [
        ("lab/test_canary.py", [], False, {"lab"}),
        ("bench/test_runner.py", ["groundtruth", "tmp_path"], False, {"servers"}),
        ("spec/test_located_fuzz.py", ["tmp_path"], True, {"slow"}),
        ("test_lab_words.py", ["lab"], False, {"lab"}),
        ("labs/test_x.py", ["tmp_path"], False, set()),
    ],
)
def test_tiers_come_from_the_folder_the_fixtures_and_hypothesis(
    path: str, fixtures: list[str], generated: bool, tiers: set[str]
) -> None:
    assert tiers_of(TESTS / path, fixtures, generated) == tiers


def test_the_guard_refuses_sockets_and_processes_and_then_puts_everything_back() -> None:
    before = (socket.socket.bind, subprocess.Popen._execute_child, uvloop.Loop.create_server)
    with no_servers("the test") as attempts:
        with socket.socket() as probe, pytest.raises(OutsideItsTier, match="mark it `servers`"):
            probe.bind(("127.0.0.1", 0))
        with pytest.raises(OutsideItsTier):
            subprocess.run([sys.executable, "-c", "pass"], check=True)
        with pytest.raises(OutsideItsTier):
            uvloop.Loop.create_server(None)  # type: ignore[call-overload]
    assert attempts == [
        f"the test {what}: mark it `servers` (see tests/support/tiers.py; if a library did it "
        "on its own, warm it up there)"
        for what in ("binds a socket", "starts a subprocess", "calls uvloop's create_server")
    ]
    assert (socket.socket.bind, subprocess.Popen._execute_child, uvloop.Loop.create_server) == (
        before
    )
