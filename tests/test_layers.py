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
    {"lint", "compare", "lab", "project"},
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


def module_imports(package: str) -> list[tuple[str, str, set[str]]]:
    """(importing module, imported module, the names imported from it) for every crossfade
    import in `package`, lazy ones included, as dotted module names."""
    found = []
    for file in sorted((SOURCE / package).rglob("*.py")):
        parts = file.relative_to(SOURCE.parent).with_suffix("").parts
        own = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((own, node.module, {alias.name for alias in node.names}))
            elif isinstance(node, ast.Import):
                found += [(own, alias.name, set()) for alias in node.names]
    return [(own, name, names) for own, name, names in found if name.startswith("crossfade.")]


def test_target_urls_do_not_build_clients() -> None:
    """Inside bench: `targets` parses URLs for the router, the CLI and sweeps, and must not
    reach the clients (they import `targets`: the other way would be a circle)."""
    found = module_imports("bench")
    assert any(own.startswith("crossfade.bench.clients") for own, _, _ in found)  # scanned
    circle = [
        f"{own} imports {name}"
        for own, name, names in found
        if own == "crossfade.bench.targets"
        and (name.startswith("crossfade.bench.clients") or "clients" in names)
    ]
    assert circle == []


def test_the_router_builds_no_bench_request() -> None:
    """The router speaks the dialects through the neutral `GenerationRequest`, never through a
    benchmark's request."""
    found = module_imports("rollout")
    assert len(found) > 50
    uses = [f"{own} imports BenchRequest" for own, _, names in found if "BenchRequest" in names]
    mentions = [
        str(file.relative_to(SOURCE))
        for file in sorted((SOURCE / "rollout").rglob("*.py"))
        if "BenchRequest" in file.read_text(encoding="utf-8")
    ]
    assert uses == mentions == []
