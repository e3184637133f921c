"""`crossfade lint` on manifests: discovery beside model repositories, flags, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crossfade.cli import main
from crossfade.errors import UsageError
from crossfade.lint.runner import lint_paths
from tests.support.engine_folders import make_engine
from tests.support.findings import engine_layout_removed, located
from tests.support.k8s_lint import cluster_crd, lint
from tests.support.paths import ROOT
from tests.support.planting import plant

SCALED_OBJECT = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: llm-vllm, namespace: llm}
spec:
  scaleTargetRef: {name: llm-vllm}
"""


def test_clean_set_exits_0(manifests: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Istio and Gateway API kinds among them: checked against the shipped CRD schemas.
    assert main(["lint", str(manifests)]) == 0
    assert capsys.readouterr().out.strip() == "0 finding(s): 0 error(s), 0 warning(s)"


def test_findings_exit_1_with_file_line_and_fix(
    manifests: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployments = manifests / "deployments.yaml"
    line = plant(deployments, "            nvidia.com/gpu: 2\n", "            nvidia.com/gpu: 1\n")
    engine = make_engine(tmp_path, tp=2)
    argv = ["lint", str(manifests), "--engine", str(engine)]
    assert main(argv) == 1
    out = capsys.readouterr().out.splitlines()
    # The engine and the annotation both say 2: two findings on the same line.
    assert out[0].startswith(f"{deployments}:{line}: error k8s-gpu-count: Deployment llm-trtllm")
    assert out[1].startswith("    fix: set resources.limits nvidia.com/gpu: 2")
    assert out[-1] == "2 finding(s): 2 error(s), 0 warning(s)"


def test_json_output_and_the_gateway_channel_flag(
    manifests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    route = manifests / "httproute.yaml"
    line = plant(route, "    timeouts:", "    retry: {attempts: 2}\n    timeouts:")
    argv = ["lint", str(manifests), "--format", "json"]
    assert main([*argv, "--gateway-channel", "standard"]) == 1
    (finding,) = json.loads(capsys.readouterr().out)
    assert (finding["code"], finding["file"], finding["line"]) == (
        "k8s-gateway-experimental-field",
        str(route),
        line,
    )
    assert main([*argv, "--gateway-channel", "experimental"]) == 0


def test_usage_errors_exit_2(manifests: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(manifests), "--crd-dir", str(manifests / "absent")]) == 2
    assert "--crd-dir" in capsys.readouterr().err
    assert main(["lint", str(manifests), "--k8s-version", "0.9"]) == 2
    assert "--k8s-version 0.9" in capsys.readouterr().err
    assert main(["lint", str(manifests), "--engine", str(manifests)]) == 2
    assert "config.json" in capsys.readouterr().err


def test_a_channel_flag_contradicting_the_crd_given(manifests: Path, tmp_path: Path) -> None:
    standard = cluster_crd(tmp_path / "crds", "HTTPRoute", "standard")
    with pytest.raises(UsageError, match="standard channel"):
        lint(manifests, crds=(standard,), gateway_channel="experimental")


def test_a_manifest_file_is_linted_alone(manifests: Path) -> None:
    # Alone, the Deployments are correct; the Services file alone selects nothing.
    assert lint(manifests / "deployments.yaml") == []
    services = manifests / "services.yaml"
    assert {code for code, _, _ in located(lint(services))} == {"k8s-selector-matches-nothing"}
    # Given together, they are one set again.
    assert lint(manifests / "deployments.yaml", services) == []


def test_other_yaml_is_not_taken_for_a_manifest(manifests: Path, tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples/llama-3-8b.yaml", manifests / "crossfade.yaml")
    (manifests / ".hidden").mkdir()
    (manifests / ".hidden/junk.yaml").write_text("apiVersion: v1\nkind: Nope\n")
    (manifests / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [deployments.yaml, services.yaml]\n"
    )
    assert lint(manifests) == []
    only_spec = tmp_path / "spec-only"
    only_spec.mkdir()
    shutil.copy(ROOT / "examples/llama-3-8b.yaml", only_spec / "crossfade.yaml")
    with pytest.raises(UsageError, match="no Kubernetes manifest"):
        lint_paths([only_spec])


def test_manifests_beside_an_engine_folder(manifests: Path) -> None:
    # An engine folder under the same path is still found and checked as before.
    engine = make_engine(manifests, name="engine", tp=1, old_layout=True)
    findings = lint(manifests)
    assert findings
    assert all(Path(f.file).is_relative_to(engine) for f in findings)


def test_manifests_and_model_repositories_in_one_run(manifests: Path, rendered: Path) -> None:
    removed = engine_layout_removed(rendered)  # the 8B example keeps the legacy engine layout
    assert located(lint(rendered, manifests)) == {removed}
    istio = manifests / "istio.yaml"
    plant(istio, "weight: 90", "weight: 80")
    config = rendered / "vllm/ensemble/config.pbtxt"
    plant(config, "decoupled: true", "decoupled: false")
    found = {(code, file) for code, file, _ in located(lint(rendered, manifests))}
    assert found == {
        ("k8s-weights-sum", str(istio)),
        ("vllm-not-decoupled", str(config)),
        removed[:2],
    }


def test_fail_on_error_lets_warnings_pass(
    manifests: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A custom resource no schema is shipped or given for is unchecked: a warning, exit 1 by
    default, 0 with --fail-on error; an error still exits 1."""
    (manifests / "scaler.yaml").write_text(SCALED_OBJECT, encoding="utf-8")
    assert main(["lint", str(manifests)]) == 1
    out = capsys.readouterr().out
    assert "warning k8s-no-schema" in out
    assert " 0 error(s)" in out
    assert main(["lint", str(manifests), "--fail-on", "error"]) == 0
    deployments = manifests / "deployments.yaml"
    plant(deployments, "            nvidia.com/gpu: 2\n", "            nvidia.com/gpu: 1\n")
    engine = make_engine(tmp_path, tp=2)
    argv = ["lint", str(manifests), "--engine", str(engine), "--fail-on", "error"]
    assert main(argv) == 1
