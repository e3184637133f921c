"""`crossfade lint`: find the model repositories, engine folders and Kubernetes manifests under
each path, check them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from crossfade.engine.check import check_engine
from crossfade.errors import UsageError
from crossfade.findings import Finding, Severity, sort_findings
from crossfade.lint.checks_ensemble import check_ensemble
from crossfade.lint.checks_trtllm import check_bls, check_tensorrt_llm, is_tensorrt_llm
from crossfade.lint.checks_vllm import check_vllm_model
from crossfade.lint.k8s import K8sOptions, ManifestFile, lint_manifest_files, read_manifest_file
from crossfade.lint.k8s.load import MANIFEST_SUFFIXES
from crossfade.lint.model import LintedModel
from crossfade.lint.pbtxt_check import check_config
from crossfade.lint.textproto import unquote


def lint_paths(
    paths: Iterable[str | Path],
    image: str | None = None,
    gpu: str | None = None,
    k8s: K8sOptions | None = None,
) -> list[Finding]:
    findings: list[Finding] = []
    manifest_files: dict[Path, ManifestFile] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        manifests = _discover_manifests(path)
        # A manifest file stands alone; any other file means the folder it is in.
        repositories, engines = ([], []) if path.is_file() and manifests else _discover(path)
        if not repositories and not engines and not manifests:
            raise UsageError(
                f"{path}: found no model repository (folders with config.pbtxt), "
                "no engine folder (config.json with rank*.engine) "
                "and no Kubernetes manifest (YAML with apiVersion and kind)"
            )
        for repository in repositories:
            findings += lint_repository(repository, image, gpu)
        for engine in engines:
            findings += check_engine(engine, image, gpu)
        manifest_files.update((m.path.resolve(), m) for m in manifests)
    if manifest_files:
        # One set across all paths: a Service in one folder may select pods from another.
        findings += lint_manifest_files(list(manifest_files.values()), k8s or K8sOptions())
    return sort_findings(list(dict.fromkeys(findings)))


def _discover_manifests(path: Path) -> list[ManifestFile]:
    """YAML files holding Kubernetes resources: `path` itself, or those under it."""
    if path.is_file():
        files = [path] if path.suffix in MANIFEST_SUFFIXES else []
    else:
        files = []
        for folder, subfolders, names in os.walk(path):
            # hidden folders (.git, .venv) hold no one's manifests and can be large
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            files += [Path(folder) / n for n in sorted(names) if n.endswith(MANIFEST_SUFFIXES)]
    return [found for file in files if (found := read_manifest_file(file)) is not None]


def _discover(path: Path) -> tuple[list[Path], list[Path]]:
    """Repositories (parents of model folders) and engine folders at or under `path`."""
    if path.is_file():
        path = path.parent
    if (path / "config.pbtxt").is_file():
        return [path.parent], []
    repositories = sorted({config.parent.parent for config in path.rglob("config.pbtxt")})
    engines = sorted(
        config.parent for config in path.rglob("config.json") if any(config.parent.glob("*.engine"))
    )
    return repositories, engines


def lint_repository(
    repository: Path, image: str | None = None, gpu: str | None = None
) -> list[Finding]:
    findings: list[Finding] = []
    models: dict[str, LintedModel] = {}
    for config_path in sorted(repository.glob("*/config.pbtxt")):
        parsed, config_findings = check_config(
            str(config_path), config_path.read_text(encoding="utf-8")
        )
        findings += config_findings
        model = LintedModel(config_path.parent.name, config_path.parent, parsed)
        models[model.name] = model
        findings += _check_name(model)
    for model in models.values():
        if model.backend == "vllm":
            findings += check_vllm_model(model)
        elif model.platform == "ensemble":
            findings += check_ensemble(model, models)
        elif is_tensorrt_llm(model):
            findings += check_tensorrt_llm(model, image, gpu)
        elif "tensorrt_llm_model_name" in model.parameters():
            findings += check_bls(model)
    return findings


def _check_name(model: LintedModel) -> list[Finding]:
    node = model.root.first("name")
    if node is None or unquote(node.value or "") == model.name:
        return []
    return [
        Finding(
            Severity.ERROR,
            "model-name-mismatch",
            model.file,
            node.line,
            f"name is '{unquote(node.value or '')}' but the folder is '{model.name}'; "
            "Triton refuses to load it",
            f'set name: "{model.name}" or rename the folder',
        )
    ]
