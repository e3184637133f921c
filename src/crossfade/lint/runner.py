"""`crossfade lint`: find the model repositories, engine folders and Kubernetes manifests under
each path, check them.

A folder is searched; a file is linted as what it is (a model's config.pbtxt or model.json, an
engine's config.json, a manifest), never as the folder it sits in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from crossfade.engine.check import check_engine
from crossfade.errors import UsageError
from crossfade.findings import Finding, Severity, sort_findings
from crossfade.lint.checks_ensemble import check_ensemble
from crossfade.lint.checks_gpu import check_gpu_claims
from crossfade.lint.checks_llmapi import check_llmapi, check_model_yaml_file
from crossfade.lint.checks_parameters import check_parameter_placeholders
from crossfade.lint.checks_trtllm import check_bls, check_engine_layout, check_tensorrt_llm
from crossfade.lint.checks_vllm import check_model_json_file, check_vllm_model
from crossfade.lint.k8s import K8sOptions, ManifestFile, lint_manifest_files, read_manifest_file
from crossfade.lint.k8s.load import MANIFEST_SUFFIXES
from crossfade.lint.model import LLMAPI_CONFIG, LintedModel, read_text
from crossfade.lint.pbtxt_check import check_config
from crossfade.lint.textproto import unquote

CONFIG = "config.pbtxt"
KNOWN_FILES = (
    "a model repository or model folder, a config.pbtxt, model.json or model.yaml, an engine "
    "folder or its config.json, or Kubernetes manifests (YAML with apiVersion and kind)"
)
# Top-level keys only a crossfade spec has: lint checks what it renders, not the spec itself.
_SPEC_KEYS = re.compile(r"^(tensorrtllm|vllm|kubernetes):", re.M)


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
        if path.is_file():
            file_findings, manifests = _lint_file(path, image, gpu)
            findings += file_findings
        else:
            manifests = _discover_manifests(path)
            findings += _lint_folder(path, image, gpu, bool(manifests))
        manifest_files.update((m.path.resolve(), m) for m in manifests)
    if manifest_files:
        # One set across all paths: a Service in one folder may select pods from another.
        findings += lint_manifest_files(list(manifest_files.values()), k8s or K8sOptions())
    return sort_findings(list(dict.fromkeys(findings)))


def _lint_folder(
    path: Path, image: str | None, gpu: str | None, has_manifests: bool
) -> list[Finding]:
    if (path / CONFIG).is_file():
        return lint_repository(path.parent, image, gpu, only=path.name)
    repositories = sorted({config.parent.parent for config in path.rglob(CONFIG)})
    engines = sorted(
        config.parent for config in path.rglob("config.json") if any(config.parent.glob("*.engine"))
    )
    if not repositories and not engines and not has_manifests:
        raise UsageError(
            f"{path}: found no model repository (folders with config.pbtxt), "
            "no engine folder (config.json with rank*.engine) "
            "and no Kubernetes manifest (YAML with apiVersion and kind)"
        )
    findings: list[Finding] = []
    for repository in repositories:
        findings += lint_repository(repository, image, gpu)
    for engine in engines:
        findings += check_engine(engine, image, gpu)
    return findings


def _lint_file(
    path: Path, image: str | None, gpu: str | None
) -> tuple[list[Finding], list[ManifestFile]]:
    """Findings of the named file alone, or the manifests it holds."""
    if path.name == CONFIG:
        return lint_repository(path.parent.parent, image, gpu, only=path.parent.name), []
    if path.name == "model.json":
        model = path.parent.parent
        if path.parent.name.isdigit() and (model / CONFIG).is_file():
            return lint_repository(model.parent, image, gpu, only=model.name), []
        return check_model_json_file(path), []
    if path.name == LLMAPI_CONFIG:
        model = path.parent.parent
        if path.parent.name.isdigit() and (model / CONFIG).is_file():
            return lint_repository(model.parent, image, gpu, only=model.name), []
        if not (manifests := _discover_manifests(path)):  # a manifest may be named so too
            return check_model_yaml_file(path), []
        return [], manifests
    if path.name == "config.json" and any(path.parent.glob("*.engine")):
        return check_engine(path.parent, image, gpu), []
    manifests = _discover_manifests(path)
    if manifests:
        return [], manifests
    raise UsageError(f"{path}: not a file lint knows; name {KNOWN_FILES}{_spec_hint(path)}")


def _spec_hint(path: Path) -> str:
    if path.suffix not in MANIFEST_SUFFIXES:
        return ""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    if not _SPEC_KEYS.search(text):
        return ""
    return (
        ". It looks like a crossfade spec: render it (crossfade render triton SPEC -o DIR, "
        "crossfade render k8s SPEC -o DIR) and lint DIR"
    )


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


def lint_repository(
    repository: Path, image: str | None = None, gpu: str | None = None, only: str | None = None
) -> list[Finding]:
    """Every model of `repository`, or with `only` that model (the others as its context)."""
    findings: list[Finding] = []
    models: dict[str, LintedModel] = {}
    unreadable: set[str] = set()
    for config_path in sorted(repository.glob(f"*/{CONFIG}")):
        name = config_path.parent.name
        mine = only is None or name == only
        text, problem = _read_config(config_path)
        if text is None:
            unreadable.add(name)
            findings += [problem] if mine and problem is not None else []
            continue
        parsed, config_findings = check_config(str(config_path), text)
        model = LintedModel(name, config_path.parent, parsed)
        models[name] = model
        if mine:
            findings += config_findings + _check_name(model)
    for model in models.values():
        if only is None or model.name == only:
            findings += _check_model(model, models, unreadable, image, gpu)
    findings += check_gpu_claims(list(models.values()), only)
    linted = [model for model in models.values() if only is None or model.name == only]
    findings += check_engine_layout(repository, linted)
    return findings


def _check_model(
    model: LintedModel,
    models: dict[str, LintedModel],
    unreadable: set[str],
    image: str | None,
    gpu: str | None,
) -> list[Finding]:
    findings = check_parameter_placeholders(model)
    role = model.role
    if role == "vllm":
        findings += check_vllm_model(model)
    elif role == "ensemble":
        findings += check_ensemble(model, models, unreadable)
    elif role == "tensorrt_llm":
        findings += check_tensorrt_llm(model, image, gpu)
    elif role == "bls":
        findings += check_bls(model)
    elif role == "llmapi":
        findings += check_llmapi(model)
    return findings


def _read_config(path: Path) -> tuple[str | None, Finding | None]:
    """The config's text, or why it cannot be read (lint goes on with the other models)."""
    text, problem = read_text(path)
    if text is not None:
        return text, None
    return None, Finding(
        Severity.ERROR,
        "pbtxt-unreadable",
        str(path),
        None,
        f"{problem}; Triton cannot load this model",
        "replace it with the model's text config.pbtxt (protobuf text format)",
    )


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
