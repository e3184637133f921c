"""Tests stand on their own: shared helpers live in tests/support, conftest modules hold only
fixtures and hooks."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

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
    assert helpers == []
