"""What `crossfade render k8s` writes for the examples, in either TensorRT-LLM layout, lints
clean."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crossfade.cli import main
from tests.render.k8s.support import SPEC_70B
from tests.support.k8s_lint import lint
from tests.support.layouts import Layout, as_layout
from tests.support.paths import EXAMPLES
from tests.support.planting import plant


def _render(spec: Path, out: Path, channel: str) -> None:
    assert main(["render", "k8s", str(spec), "-o", str(out), "--gateway-channel", channel]) == 0


def in_layout(example: Path, layout: Layout, folder: Path) -> Path:
    """The example as a spec file in TensorRT-LLM `layout`, whichever it is written in."""
    data = as_layout(yaml.safe_load(example.read_text(encoding="utf-8")), layout)
    path = folder / example.name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", ["llmapi", "engine"])
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_rendered_examples_lint_clean(example: Path, layout: Layout, tmp_path: Path) -> None:
    spec = in_layout(example, layout, tmp_path)
    out = tmp_path / "standard"
    _render(spec, out, "standard")
    assert lint(out) == []
    if "kind: HTTPRoute" not in "".join(p.read_text() for p in out.rglob("*.yaml")):
        return
    # A Gateway API example rendered for the experimental channel uses its fields ...
    experimental = tmp_path / "experimental"
    _render(spec, experimental, "experimental")
    assert lint(experimental, gateway_channel="experimental") == []
    # ... which the standard channel would drop, and lint says so.
    found = {f.code for f in lint(experimental, gateway_channel="standard")}
    assert found == {"k8s-gateway-experimental-field"}


def test_the_rendered_engine_parallelism_is_checked_without_the_engine(tmp_path: Path) -> None:
    _render(SPEC_70B, tmp_path / "out", "standard")  # the legacy layout, with its build Job
    deployments = tmp_path / "out" / "deployment.yaml"
    text = deployments.read_text()
    assert "crossfade.io/tp-pp: 4x1" in text
    deployments.write_text(text.replace("nvidia.com/gpu: 4", "nvidia.com/gpu: 2", 1))
    assert [f.code for f in lint(tmp_path / "out")] == ["k8s-gpu-count"]


def test_a_typo_in_a_rendered_custom_resource_is_caught_without_crd_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = next(p for p in EXAMPLES if "8b" in p.name)
    _render(spec, tmp_path, "standard")
    capsys.readouterr()
    assert main(["lint", str(tmp_path)]) == 0
    traffic = next(p for p in tmp_path.glob("*.yaml") if "kind: VirtualService" in p.read_text())
    line = plant(traffic, "weight:", "weigth:")
    capsys.readouterr()
    assert main(["lint", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{traffic}:{line}: error k8s-unknown-field: VirtualService" in out
    assert "unknown field 'weigth'" in out
    assert "fix: did you mean 'weight'?" in out
