"""Imports flow one way: from `cli` at the top down to `spec` and `errors` at the bottom. Each
package of crossfade may import only packages of a lower layer (TYPE_CHECKING imports too)."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "crossfade"
LAYERS = [
    {"(root)", "errors"},
    {"saved", "findings"},
    {"spec", "engine"},
    {"render", "bench"},
    {"lint", "compare", "lab"},
    {"report", "advise", "rollout"},
    {"demo"},
    {"cli"},
    {"__main__"},
]
LAYER = {package: level for level, packages in enumerate(LAYERS) for package in packages}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def imports() -> list[tuple[str, str, str]]:
    """(importing file, its package, the imported package) for every crossfade import."""
    found = []
    for file in sorted(SOURCE.rglob("*.py")):
        relative = file.relative_to(SOURCE)
        own = "(root)" if str(relative) == "__init__.py" else relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name == "crossfade" or name.startswith("crossfade."):
                    found.append((str(relative), own, package_of(name)))
    return found


def test_every_package_has_a_layer() -> None:
    packages = {p.name.removesuffix(".py") for p in SOURCE.iterdir() if p.name != "__init__.py"}
    packages = {p for p in packages if not p.startswith("__pycache__") and not p.endswith(".yaml")}
    assert packages - {"py.typed"} <= set(LAYER), packages - set(LAYER)


def test_imports_go_only_to_lower_layers() -> None:
    found = imports()
    assert len(found) > 300  # the scan sees the code
    upward = [
        f"{file}: {own} imports {target}"
        for file, own, target in found
        if own != target and LAYER[target] >= LAYER[own]
    ]
    assert upward == []
