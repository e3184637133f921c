"""Checks for TensorRT-LLM's LLM API model (`tensorrt_llm`, python backend, `1/model.yaml`).

- config.pbtxt must not set what upstream's config leaves to model.yaml: `max_batch_size` and
  the decoupled transaction policy come from `triton_config` (the model's auto_complete_config
  sets them, and a value already in config.pbtxt cannot be changed there).
- `1/` must hold upstream's model.py and helpers.py, unless crossfade's MODEL_FILES.md note
  sits beside config.pbtxt: it says where they come from, and `render k8s` copies them in at
  deploy time, so a rendered repository has no finding.
- model.yaml: see `lint.llmapi_yaml`. `decoupled: false` is a warning whenever the model takes
  the `streaming` input (upstream's config.pbtxt declares it): streamed requests fail with
  "Streaming is only supported in decoupled mode.". A model.yaml linted on its own is taken to
  go with upstream's config.
- Instances and GPUs: more than one instance needs the `gpu_device_ids` parameter, one GPU list
  per instance ("0,1;2,3"), each of tensor_parallel_size x pipeline_parallel_size GPUs.
"""

from __future__ import annotations

from pathlib import Path

from crossfade.findings import Finding, Severity
from crossfade.lint.llmapi_yaml import TRITON_CONFIG, ModelYaml, read_model_yaml
from crossfade.lint.model import LLMAPI_CONFIG, LintedModel
from crossfade.render.triton_llmapi import MODEL_FILES_NOTE
from crossfade.spec.tensorrtllm import CONTAINER_MODEL_FILES

MODEL_FILES = ("model.py", "helpers.py")
UPSTREAM_MODEL_FILES = "NVIDIA/TensorRT-LLM triton_backend/all_models/llmapi/tensorrt_llm/1/"


def check_llmapi(model: LintedModel) -> list[Finding]:
    findings = _set_in_pbtxt(model)
    folders = model.version_folders()
    folder = max(folders, key=lambda f: int(f.name)) if folders else model.folder / "1"
    findings += _model_files(model, folder)
    if not (folder / LLMAPI_CONFIG).is_file():
        return [*findings, _no_model_yaml(model, folder)]
    yaml_findings, document = read_model_yaml(folder / LLMAPI_CONFIG)
    findings += yaml_findings
    if document is not None:
        if "streaming" in model.tensor_names("input"):
            findings += streaming_findings(document)
        findings += _gpu_findings(model, document)
    return findings


def check_model_yaml_file(path: Path) -> list[Finding]:
    """A model.yaml on its own (no config.pbtxt beside its version folder)."""
    findings, document = read_model_yaml(path)
    return findings + (streaming_findings(document) if document is not None else [])


def streaming_findings(document: ModelYaml) -> list[Finding]:
    if TRITON_CONFIG not in document.data or "decoupled" not in document.triton_config:
        return []  # reported as missing
    if document.decoupled:
        return []
    return [
        Finding(
            Severity.WARNING,
            "stream-not-decoupled",
            str(document.path),
            document.line(TRITON_CONFIG, "decoupled"),
            "triton_config.decoupled is false but the model takes streaming requests; they "
            "fail with 'Streaming is only supported in decoupled mode.'",
            "set decoupled: true under triton_config (needed by generate_stream and streaming "
            "clients)",
        )
    ]


def _set_in_pbtxt(model: LintedModel) -> list[Finding]:
    findings = []
    for field, fix in (
        ("max_batch_size", "triton_config.max_batch_size (0: the model takes one prompt each)"),
        ("model_transaction_policy", "triton_config.decoupled"),
    ):
        node = model.root.first(field)
        if node is None:
            continue
        findings.append(
            Finding(
                Severity.ERROR,
                "llmapi-set-in-pbtxt",
                model.file,
                node.line,
                f"config.pbtxt sets {field}, which the LLM API model takes from model.yaml: its "
                "auto_complete_config sets it from triton_config, and cannot change a value "
                "config.pbtxt already set",
                f"remove {field} from config.pbtxt; set {fix} in 1/{LLMAPI_CONFIG}",
            )
        )
    return findings


def _model_files(model: LintedModel, folder: Path) -> list[Finding]:
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if not missing or (model.folder / MODEL_FILES_NOTE).is_file():
        return []
    return [
        Finding(
            Severity.ERROR,
            "llmapi-model-files-missing",
            str(folder),
            None,
            f"{folder.name}/ has no {' or '.join(missing)}: the python backend runs "
            f"{folder.name}/model.py, so Triton cannot load '{model.name}'",
            f"copy model.py and helpers.py into {folder} from {CONTAINER_MODEL_FILES} in the "
            f"serving -trtllm-python-py3 container, or from {UPSTREAM_MODEL_FILES} at the tag "
            "of the container's tensorrt_llm version",
        )
    ]


def _no_model_yaml(model: LintedModel, folder: Path) -> Finding:
    return Finding(
        Severity.ERROR,
        "llmapi-model-yaml-missing",
        str(folder),
        None,
        f"no {folder.name}/{LLMAPI_CONFIG}: '{model.name}' is the LLM API model, which reads "
        f"the LLM() arguments and triton_config from it, and fails to load without it",
        f"write {folder.name}/{LLMAPI_CONFIG} (crossfade render triton writes it from a spec); "
        "LLM_CONFIG_PATH in the server's environment names another file",
    )


def _gpu_findings(model: LintedModel, document: ModelYaml) -> list[Finding]:
    instances = model.instance_count()
    value, line = model.parameters().get("gpu_device_ids") or ("", None)
    if not value.strip():
        if instances == 1:
            return []
        problem = (
            f"{instances} instances and no gpu_device_ids parameter: every instance starts "
            "its own LLM on the same GPUs"
        )
        group = model.root.first("instance_group")
        return [_gpu_finding(model, group.line if group else None, problem, instances)]
    groups = [[part.strip() for part in group.split(",")] for group in value.split(";")]
    if not all(part.isdigit() for group in groups for part in group):
        problem = f"gpu_device_ids '{value}' is not GPU ids, ',' within an instance, ';' between"
        return [_gpu_finding(model, line, problem, instances)]
    problems = []
    if len(groups) != instances:
        problems.append(f"gpu_device_ids names {len(groups)} GPU list(s) for {instances} instances")
    size = document.parallel_size()
    if size is not None and any(len(group) != size for group in groups):
        problems.append(
            f"each instance needs tensor_parallel_size x pipeline_parallel_size = {size} GPU(s) "
            f"(model.yaml), but gpu_device_ids '{value}' gives "
            + ", ".join(str(len(group)) for group in groups)
        )
    ids = [int(part) for group in groups for part in group]
    if len(ids) != len(set(ids)):
        problems.append(f"gpu_device_ids '{value}' gives one GPU to more than one instance")
    return [_gpu_finding(model, line, problem, instances) for problem in problems]


def _gpu_finding(model: LintedModel, line: int | None, problem: str, instances: int) -> Finding:
    return Finding(
        Severity.ERROR,
        "llmapi-gpu-device-ids",
        model.file,
        line,
        problem,
        f"set parameters gpu_device_ids to one GPU list per instance ({instances}), each of "
        'tensor_parallel_size x pipeline_parallel_size GPUs, e.g. "0,1;2,3"',
    )
