"""The spec's `kubernetes:` section: bad values and mismatches name the field and its line."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from crossfade.errors import SpecError
from crossfade.spec import load_spec, parse_spec
from crossfade.spec.example import EXAMPLE_SPEC
from tests.support.layouts import ENGINE_SPECS, as_layout

SPEC_8B = ENGINE_SPECS / "llama-3-8b.yaml"  # the legacy layout these cases are written for

Change = Callable[[dict[str, Any]], object]


def problems_after(change: Change) -> list[tuple[int | None, str, str]]:
    data = yaml.safe_load(SPEC_8B.read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(SpecError) as caught:
        parse_spec(yaml.safe_dump(data, sort_keys=False), "spec.yaml")
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def k8s(data: dict[str, Any]) -> dict[str, Any]:
    section: dict[str, Any] = data["kubernetes"]
    return section


def _set(path: str, value: Any) -> Change:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value

    return change


def _delete(path: str) -> Change:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]

    return change


CASES: list[tuple[str, Change, str, str]] = [
    ("unknown key", _set("kubernetes.vllm.gpuz", 1), "kubernetes.vllm.gpuz", "unknown key"),
    ("bad namespace", _set("kubernetes.namespace", "LLM"), "kubernetes.namespace", "pattern"),
    ("bad name", _set("kubernetes.name", "9-llama"), "kubernetes.name", "pattern"),
    ("bad quantity", _set("kubernetes.vllm.memory", "64GB"), "kubernetes.vllm.memory", "pattern"),
    ("zero gpus", _set("kubernetes.vllm.gpus", 0), "kubernetes.vllm.gpus", "greater than 0"),
    ("vllm gpus", _set("kubernetes.vllm.gpus", 2), "kubernetes.vllm.gpus", "tensor_parallel"),
    (
        "engine parallelism",
        _set("kubernetes.engine_build.tp_size", 2),
        "kubernetes.tensorrtllm.gpus",
        "tp_size x pp_size = 2",
    ),
    (
        "device ids",
        _set("tensorrtllm.gpu_device_ids", [0, 1]),
        "kubernetes.tensorrtllm.gpus",
        "gpu_device_ids",
    ),
    ("bare tag", _delete("kubernetes.triton_image"), "kubernetes.triton_image", "bare tag"),
    (
        "two registries",
        _set("vllm.image", "registry.example/nvidia/tritonserver:25.12-vllm-python-py3"),
        "kubernetes.triton_image",
        "already names an image",
    ),
    (
        "engine off the volumes",
        _set("kubernetes.storage.engines.mount_path", "/trt"),
        "kubernetes.storage",
        "tensorrtllm.engine_dir",
    ),
    (
        "tokenizer off the volumes",
        _set("model.tokenizer", "/opt/tokenizer"),
        "kubernetes.storage",
        "model.tokenizer",
    ),
    (
        "hides the repository",
        _set("kubernetes.storage.results.mount_path", "/model_repository"),
        "kubernetes.storage.results.mount_path",
        "overlaps /model_repository",
    ),
    (
        "nested mounts",
        _set("kubernetes.storage.engines.mount_path", "/models/engines"),
        "kubernetes.storage.weights.mount_path",
        "overlaps kubernetes.storage.engines",
    ),
    (
        "no engines volume",
        _delete("kubernetes.storage.engines"),
        "kubernetes.storage.engines",
        "engine",
    ),
    (
        "weights must sum to 100",
        _set("kubernetes.traffic.weights", {"tensorrtllm": 90, "vllm": 20}),
        "kubernetes.traffic.weights",
        "add up to 100",
    ),
    (
        "a try longer than the request",
        _set("kubernetes.traffic.retries", {"attempts": 1, "per_try_timeout_s": 900}),
        "kubernetes.traffic",
        "exceeds timeout_s 600",
    ),
    (
        "gateway api without a gateway",
        _set("kubernetes.traffic.router", "gateway-api"),
        "kubernetes.traffic.gateway",
        "Gateway",
    ),
    (
        "bench with rate and concurrency",
        _set("kubernetes.bench.rate", 5.0),
        "kubernetes.bench",
        "exactly one",
    ),
    (
        "bench that never ends",
        _delete("kubernetes.bench.requests"),
        "kubernetes.bench",
        "so the run ends",
    ),
    (
        "bench without its image",
        _delete("kubernetes.crossfade_image"),
        "kubernetes.crossfade_image",
        "crossfade",
    ),
    (
        "bench without a results volume",
        _delete("kubernetes.storage.results"),
        "kubernetes.storage.results",
        "shards",
    ),
    (
        "toleration exists with a value",
        _set("kubernetes.vllm.tolerations", [{"key": "gpu", "operator": "Exists", "value": "x"}]),
        "kubernetes.vllm.tolerations[0]",
        "takes no value",
    ),
    (
        "build flag the job sets",
        _set("kubernetes.engine_build.build_args", ["--output_dir=/tmp/engine"]),
        "kubernetes.engine_build",
        "--output_dir",
    ),
]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_kubernetes_values_name_field_and_line(
    change: Change, field: str, message: str
) -> None:
    found = problems_after(change)
    matching = [(line, f, m) for line, f, m in found if f == field and message in m]
    assert matching, found
    for line, _, _ in matching:
        assert line is not None


def test_cross_check_problem_points_at_the_key_it_names() -> None:
    data = yaml.safe_load(SPEC_8B.read_text(encoding="utf-8"))
    data["kubernetes"]["vllm"]["gpus"] = 2
    text = yaml.safe_dump(data, sort_keys=False)  # what problems_after parses
    ((line, field, _),) = problems_after(_set("kubernetes.vllm.gpus", 2))
    assert field == "kubernetes.vllm.gpus"
    assert line is not None
    assert text.splitlines()[line - 1].strip() == "gpus: 2"


def test_sections_for_missing_backends_and_traffic_with_one_backend() -> None:
    def only_vllm(data: dict[str, Any]) -> None:
        del data["tensorrtllm"]

    found = problems_after(only_vllm)
    fields = {field for _, field, _ in found}
    assert {"kubernetes.tensorrtllm", "kubernetes.traffic", "kubernetes.engine_build"} <= fields


def test_unusable_model_name_needs_a_kubernetes_name() -> None:
    found = problems_after(_set("model.name", "Llama_3"))
    assert [(f, "kubernetes.name" in m) for _, f, m in found] == [("kubernetes.name", True)]
    spec_data = yaml.safe_load(SPEC_8B.read_text(encoding="utf-8"))
    spec_data["model"]["name"] = "Llama_3"
    spec_data["kubernetes"]["name"] = "llama-3"
    assert parse_spec(yaml.safe_dump(spec_data)).kubernetes is not None


def test_examples_and_the_commented_init_section_validate() -> None:
    assert load_spec(SPEC_8B).kubernetes is not None
    lines = EXAMPLE_SPEC.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# kubernetes:"))
    end = next(i for i, line in enumerate(lines) if line.startswith("# deployment:"))
    uncommented = [re.sub(r"^# ?", "", line) for line in lines[start:end]]
    spec = parse_spec("\n".join(lines[:start] + uncommented + lines[end:]), "init")
    assert spec.kubernetes is not None
    assert spec.kubernetes.traffic is not None
    assert spec.kubernetes.traffic.weights.tensorrtllm == 90


def llmapi_spec_text(tp: int, gpus: int, device_ids: list[list[int]] | None = None) -> str:
    data = as_layout(yaml.safe_load(SPEC_8B.read_text(encoding="utf-8")), "llmapi")
    data["tensorrtllm"]["llm_args"]["tensor_parallel_size"] = tp
    if device_ids is not None:
        data["tensorrtllm"] |= {"instance_count": len(device_ids), "gpu_device_ids": device_ids}
    data["kubernetes"]["tensorrtllm"]["gpus"] = gpus
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    ("tp", "gpus", "device_ids"),
    [(1, 1, None), (2, 2, None), (2, 4, [[0, 1], [2, 3]]), (1, 1, [[0], [0]])],
    ids=["one", "tp2", "two-instances-tp2", "two-instances-sharing-gpu-0"],
)
def test_llmapi_pods_get_the_gpus_the_model_uses(
    tp: int, gpus: int, device_ids: list[list[int]] | None
) -> None:
    # Two instances on one GPU is upstream's own example (docs/llmapi.md, "0;0"); before, the
    # spec asked for tp x pp x instances = 2 GPUs for it.
    assert parse_spec(llmapi_spec_text(tp, gpus, device_ids)).kubernetes is not None


@pytest.mark.parametrize(
    ("tp", "gpus", "device_ids", "message"),
    [
        (2, 1, None, "tensor_parallel_size x pipeline_parallel_size = 2"),
        (1, 2, [[0], [2]], "names GPU(s) 0, 2; a pod sees its GPUs as 0..1"),
        (1, 3, [[0], [1]], "names GPU(s) 0, 1; a pod sees its GPUs as 0..2"),
    ],
)
def test_llmapi_pods_with_other_gpus_are_refused(
    tp: int, gpus: int, device_ids: list[list[int]] | None, message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(llmapi_spec_text(tp, gpus, device_ids), "spec.yaml")
    ((field, text),) = [(p.field, p.message) for p in caught.value.problems]
    assert field == "kubernetes.tensorrtllm.gpus"
    assert f"{gpus} GPU(s) per pod but tensorrtllm: " in text
    assert message in text
