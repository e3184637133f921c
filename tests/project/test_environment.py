"""Finding the projection environment, and what crossfade says when it is not there or the
worker's reply cannot be read (no projection environment needed: these never reach one)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from crossfade.project.contract import WorkerRequest
from crossfade.project.environment import PYTHON_VARIABLE, projection_python, run_worker
from crossfade.project.model import ProjectionError
from tests.support.paths import ROOT

pytestmark = pytest.mark.servers  # they start the projection environment's worker process

REQUEST = WorkerRequest(
    model_dir="/nowhere",
    system="h100_sxm",
    gemm_quant="bfloat16",
    kv_cache_quant="bfloat16",
    input_len=1024,
    output_len=256,
    concurrency=[1],
    backends=[{"backend": "vllm", "tensor_parallel": 1, "pipeline_parallel": 1}],
)


def test_the_environment_is_beside_crossfades_or_named_by_the_variable() -> None:
    beside = Path(sys.prefix).parent / ".venv-projection" / "bin" / "python"
    assert projection_python({}) == beside
    assert projection_python({PYTHON_VARIABLE: "/opt/p/bin/python"}) == Path("/opt/p/bin/python")


def test_a_missing_environment_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ProjectionError, match=r"no projection environment at .*: run "
                       r"`scripts/setup --projection`"):  # fmt: skip
        run_worker(REQUEST, tmp_path / "python")


def test_a_worker_that_fails_is_quoted(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'ModuleNotFoundError: aiconfigurator' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(ProjectionError, match=r"worker failed \(exit 1\); its last words:\n"
                       r"ModuleNotFoundError: aiconfigurator"):  # fmt: skip
        run_worker(REQUEST, fake)


def test_a_reply_of_another_shape_asks_for_the_same_crossfade(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\ncat >/dev/null\necho '{\"contract\": 2}'\n")
    fake.chmod(0o755)
    with pytest.raises(ProjectionError, match=r"reply is not what this crossfade reads .*"
                       r"run `scripts/setup --projection`"):  # fmt: skip
        run_worker(REQUEST, fake)


def test_only_the_worker_imports_the_library_and_nothing_imports_the_worker() -> None:
    """AIConfigurator and its numpy 2 live in the projection environment: on crossfade's
    import path they would fail (or break the lab's numpy 1)."""
    source = ROOT / "src" / "crossfade"
    importers, worker_users = set(), set()
    for file in sorted(source.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            relative = file.relative_to(source).as_posix()
            if any(
                name.split(".")[0] in ("aiconfigurator", "aiconfigurator_core") for name in names
            ):
                importers.add(relative)
            if any(name == "crossfade.project.worker" for name in names):
                worker_users.add(relative)
    assert importers == {"project/worker.py"}
    assert worker_users == set()
