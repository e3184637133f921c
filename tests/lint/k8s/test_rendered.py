"""What `crossfade render k8s` writes for the examples lints clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.cli import main
from crossfade.findings import Finding
from tests.conftest import EXAMPLES

from .conftest import lint

# The Prometheus Operator's CRDs are not among the shared ones: these kinds go unchecked.
MONITOR_KINDS = ("PodMonitor", "ServiceMonitor")


def _render(spec: Path, out: Path, channel: str) -> None:
    assert main(["render", "k8s", str(spec), "-o", str(out), "--gateway-channel", channel]) == 0


def _unexpected(findings: list[Finding]) -> list[Finding]:
    return [
        f
        for f in findings
        if not (f.code == "k8s-no-schema" and f.message.startswith(MONITOR_KINDS))
    ]


@pytest.mark.parametrize("spec", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_rendered_examples_lint_clean(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "standard"
    _render(spec, out, "standard")
    assert _unexpected(lint(out)) == []
    if "kind: HTTPRoute" not in "".join(p.read_text() for p in out.rglob("*.yaml")):
        return
    # A Gateway API example rendered for the experimental channel uses its fields ...
    experimental = tmp_path / "experimental"
    _render(spec, experimental, "experimental")
    assert _unexpected(lint(experimental, gateway_channel="experimental")) == []
    # ... which the standard channel would drop, and lint says so.
    found = {f.code for f in _unexpected(lint(experimental, gateway_channel="standard"))}
    assert found == {"k8s-gateway-experimental-field"}


def test_the_rendered_engine_parallelism_is_checked_without_the_engine(tmp_path: Path) -> None:
    spec = next(p for p in EXAMPLES if "tp4" in p.name)
    _render(spec, tmp_path, "standard")
    deployments = tmp_path / "deployment.yaml"
    text = deployments.read_text()
    assert "crossfade.io/tp-pp: 4x1" in text
    deployments.write_text(text.replace("nvidia.com/gpu: 4", "nvidia.com/gpu: 2", 1))
    assert [f.code for f in _unexpected(lint(tmp_path))] == ["k8s-gpu-count"]
