"""Serving objects: Deployments, their model repositories, Services and the monitor."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from crossfade.errors import UsageError
from crossfade.render.k8s.repository import config_key
from crossfade.render.triton import render_triton
from crossfade.spec import Spec, load_spec
from tests.render.k8s.support import (
    SPEC_8B,
    SPEC_70B,
    example_data,
    named,
    objects,
    of_kind,
    spec_with,
)
from tests.support.paths import EXAMPLES

BACKENDS = ("tensorrtllm", "vllm")


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (server,) = pod(deployment)["containers"]
    return server


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_selectors_match_the_pods_they_mean(path: object) -> None:
    spec = load_spec(path)  # type: ignore[arg-type]
    manifests = objects(spec)
    deployments = of_kind(manifests, "Deployment")
    assert len(deployments) == 2
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items()
        backend = labels["backend"]
        assert labels["app.kubernetes.io/component"] == backend
        selecting = [
            s["metadata"]["name"]
            for s in of_kind(manifests, "Service")
            if s["spec"]["selector"].items() <= labels.items()
        ]
        assert deployment["metadata"]["name"] in selecting
        other = next(d for d in deployments if d is not deployment)
        other_labels = other["spec"]["template"]["metadata"]["labels"]
        assert not selector.items() <= other_labels.items()
    # Jobs never land behind a serving Service.
    for job in of_kind(manifests, "Job"):
        job_labels = job["spec"]["template"]["metadata"]["labels"]
        for service in of_kind(manifests, "Service"):
            assert not service["spec"]["selector"].items() <= job_labels.items()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_server_container_ports_probes_and_image(path: object) -> None:
    spec = load_spec(path)  # type: ignore[arg-type]
    assert spec.kubernetes is not None
    for deployment in of_kind(objects(spec), "Deployment"):
        backend = deployment["spec"]["template"]["metadata"]["labels"]["backend"]
        server = container(deployment)
        ports = {p["name"]: p["containerPort"] for p in server["ports"]}
        assert ports == {"http": 8000, "grpc": 8001, "metrics": 8002}
        assert server["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
        assert server["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
        startup = server["startupProbe"]
        pods = getattr(spec.kubernetes, backend)
        budget = startup["periodSeconds"] * startup["failureThreshold"]
        assert pods.startup_timeout_s <= budget < pods.startup_timeout_s + startup["periodSeconds"]
        tag = getattr(spec, backend).image
        assert server["image"] == f"{spec.kubernetes.triton_image}:{tag}"
        assert server["image"].endswith(
            f"-{'trtllm' if backend == 'tensorrtllm' else 'vllm'}-python-py3"
        )
        assert "--model-repository=/model_repository" in server["args"]


def test_gpu_counts_follow_the_parallelism() -> None:
    for path, gpus in ((SPEC_8B, 1), (SPEC_70B, 4)):
        spec = load_spec(path)
        assert spec.vllm is not None
        assert spec.vllm.parallel_size == gpus
        manifests = objects(spec)
        for backend in BACKENDS:
            name = f"{'llama-3-8b-instruct' if path == SPEC_8B else 'llama-3-70b'}-{backend}"
            server = container(named(manifests, "Deployment", name))
            assert server["resources"]["limits"]["nvidia.com/gpu"] == gpus
            orchestrated = {"name": "TRTLLM_ORCHESTRATOR", "value": "1"} in server.get("env", [])
            assert orchestrated == (backend == "tensorrtllm" and gpus > 1)


def test_scheduling_comes_from_the_spec() -> None:
    spec = load_spec(SPEC_8B)
    deployment = named(objects(spec), "Deployment", "llama-3-8b-instruct-tensorrtllm")
    spec_pod = pod(deployment)
    assert spec_pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert spec_pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert spec_pod["imagePullSecrets"] == [{"name": "ngc-registry"}]
    assert deployment["spec"]["replicas"] == 2


def test_volumes_engines_read_only_and_shm_sized_for_python_instances() -> None:
    spec = load_spec(SPEC_8B)
    assert spec.tensorrtllm is not None
    manifests = objects(spec)
    trt = named(manifests, "Deployment", "llama-3-8b-instruct-tensorrtllm")
    mounts = {m["name"]: m for m in container(trt)["volumeMounts"]}
    assert mounts["engines"] == {"name": "engines", "mountPath": "/engines", "readOnly": True}
    assert mounts["weights"]["readOnly"] is True
    assert mounts["model-repository"]["mountPath"] == "/model_repository"
    assert mounts["dshm"]["mountPath"] == "/dev/shm"
    volumes = {v["name"]: v for v in pod(trt)["volumes"]}
    assert volumes["engines"]["persistentVolumeClaim"] == {
        "claimName": "llm-engines",
        "readOnly": True,
    }
    counts = spec.tensorrtllm.instances
    python_instances = counts.preprocessing + counts.postprocessing + counts.bls
    assert volumes["dshm"]["emptyDir"] == {
        "medium": "Memory",
        "sizeLimit": f"{max(1024, 32 * python_instances)}Mi",
    }
    vllm = named(manifests, "Deployment", "llama-3-8b-instruct-vllm")
    assert "engines" not in {m["name"] for m in container(vllm)["volumeMounts"]}
    vllm_shm = next(v for v in pod(vllm)["volumes"] if v["name"] == "dshm")
    assert vllm_shm["emptyDir"]["sizeLimit"] == "1Gi"


def test_shm_size_given_in_the_spec_wins_and_several_gpus_get_more() -> None:
    def change(data: dict[str, Any]) -> None:
        data["kubernetes"]["vllm"]["shm_size"] = "3Gi"

    vllm = named(objects(spec_with(change)), "Deployment", "llama-3-8b-instruct-vllm")
    shm = next(v for v in pod(vllm)["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["sizeLimit"] == "3Gi"
    tp4 = named(objects(load_spec(SPEC_70B)), "Deployment", "llama-3-70b-vllm")
    shm = next(v for v in pod(tp4)["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["sizeLimit"] == "8Gi"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_config_map_carries_the_rendered_repository(path: object) -> None:
    """Keys map back to paths, and the init container rebuilds render_triton's tree exactly."""
    spec: Spec = load_spec(path)  # type: ignore[arg-type]
    repository = render_triton(spec)
    manifests = objects(spec)
    for deployment in of_kind(manifests, "Deployment"):
        backend = deployment["spec"]["template"]["metadata"]["labels"]["backend"]
        volumes = {v["name"]: v for v in pod(deployment)["volumes"]}
        source = volumes["model-repository-src"]["configMap"]
        config_map = named(manifests, "ConfigMap", source["name"])
        rebuilt = {item["path"]: config_map["data"][item["key"]] for item in source["items"]}
        expected = {
            p.split("/", 1)[1]: text
            for p, text in repository.files.items()
            if p.startswith(f"{backend}/")
        }
        assert rebuilt == expected
        assert all(re.fullmatch(r"[-._a-zA-Z0-9]+", key) for key in config_map["data"])
        assert {config_key(p) for p in expected} == set(config_map["data"])
        (init,) = pod(deployment)["initContainers"]
        assert init["image"] == container(deployment)["image"]
        script = init["command"][2]
        words = shlex.split(script.replace("\\\n", " "))
        copied = {w.rsplit("/", 1)[1] for w in words if w.startswith("/model_repository_src/")}
        assert copied == {p.split("/", 1)[0] for p in expected}
        folders = {p.split("/", 1)[1] for p in repository.folders if p.startswith(f"{backend}/")}
        made = {w.removeprefix("/model_repository/") for w in words if w.count("/") > 2}
        assert folders <= made


def test_editing_the_spec_changes_the_checksum_that_rolls_the_pods() -> None:
    def change(data: dict[str, Any]) -> None:
        data["vllm"]["engine_args"]["max_num_seqs"] = 32

    def checksum(spec: Spec) -> str:
        deployment = named(objects(spec), "Deployment", "llama-3-8b-instruct-vllm")
        value: str = deployment["spec"]["template"]["metadata"]["annotations"][
            "checksum/model-repository"
        ]
        return value

    assert checksum(spec_with(change)) != checksum(load_spec(SPEC_8B))
    assert checksum(spec_with(lambda data: None)) == checksum(load_spec(SPEC_8B))


def test_services_and_the_istio_host() -> None:
    manifests = objects(load_spec(SPEC_8B))
    names = {s["metadata"]["name"] for s in of_kind(manifests, "Service")}
    assert names == {
        "llama-3-8b-instruct",
        "llama-3-8b-instruct-tensorrtllm",
        "llama-3-8b-instruct-vllm",
    }
    shared = named(manifests, "Service", "llama-3-8b-instruct")
    assert shared["spec"]["selector"] == {"app.kubernetes.io/name": "llama-3-8b-instruct"}
    assert [p["name"] for p in shared["spec"]["ports"]] == ["http", "grpc", "metrics"]
    # Without Istio a shared Service would split by pod count: the HTTPRoute example has none.
    names_70b = {s["metadata"]["name"] for s in of_kind(objects(load_spec(SPEC_70B)), "Service")}
    assert names_70b == {"llama-3-70b-tensorrtllm", "llama-3-70b-vllm"}


def test_monitors_scrape_the_metrics_port_once_per_pod() -> None:
    pod_monitor = named(objects(load_spec(SPEC_8B)), "PodMonitor", "llama-3-8b-instruct")
    assert pod_monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert pod_monitor["metadata"]["labels"]["release"] == "prometheus"
    assert pod_monitor["spec"]["podMetricsEndpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "15s"}
    ]
    manifests = objects(load_spec(SPEC_70B))
    monitor = named(manifests, "ServiceMonitor", "llama-3-70b")
    selector = monitor["spec"]["selector"]
    scraped = [
        s
        for s in of_kind(manifests, "Service")
        if selector["matchLabels"].items() <= s["metadata"]["labels"].items()
        and "backend" in s["metadata"]["labels"]
    ]
    assert len(scraped) == 2
    assert selector["matchExpressions"] == [{"key": "backend", "operator": "Exists"}]


def test_monitoring_null_renders_no_monitor() -> None:
    def change(data: dict[str, Any]) -> None:
        data["kubernetes"]["monitoring"] = None

    kinds = {m["kind"] for m in objects(spec_with(change))}
    assert not kinds & {"PodMonitor", "ServiceMonitor"}


def test_single_backend_spec_renders_only_that_backend() -> None:
    def change(data: dict[str, Any]) -> None:
        del data["tensorrtllm"]
        for key in ("tensorrtllm", "engine_build", "traffic"):
            del data["kubernetes"][key]
        del data["kubernetes"]["storage"]["engines"]

    manifests = objects(spec_with(change))
    assert [d["metadata"]["name"] for d in of_kind(manifests, "Deployment")] == [
        "llama-3-8b-instruct-vllm"
    ]
    assert not [m for m in manifests if "tensorrtllm" in m["metadata"]["name"]]


def test_longest_base_name_keeps_every_name_within_kubernetes_limits() -> None:
    def change(data: dict[str, Any]) -> None:
        data["kubernetes"]["name"] = "m" * 40

    for manifest in objects(spec_with(change)):
        name = manifest["metadata"]["name"]
        assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name), name
        assert len(name) <= 63, name


def test_a_repository_too_big_for_a_config_map_is_refused() -> None:
    # Built in Python: the spec file loader refuses a document this large before render sees it.
    data = example_data(SPEC_8B)
    data["tensorrtllm"]["parameters"] = {"lora_prefetch_dir": "/" + "x" * 1_100_000}
    with pytest.raises(UsageError, match="more than a ConfigMap holds"):
        objects(Spec.model_validate(data))


@pytest.mark.servers
def test_init_script_rebuilds_the_repository_triton_reads(tmp_path: Path) -> None:
    """Lay the ConfigMap out as the kubelet does (keys at their item paths), run the copy."""
    spec = load_spec(SPEC_8B)
    repository = render_triton(spec)
    manifests = objects(spec)
    deployment = named(manifests, "Deployment", "llama-3-8b-instruct-tensorrtllm")
    source = {v["name"]: v for v in pod(deployment)["volumes"]}["model-repository-src"]
    config_map = named(manifests, "ConfigMap", source["configMap"]["name"])
    src, dst = tmp_path / "src", tmp_path / "dst"
    for item in source["configMap"]["items"]:
        target = src / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(config_map["data"][item["key"]])
    (src / "..data").mkdir()  # what the kubelet adds beside the files; must not be copied
    dst.mkdir()
    (init,) = pod(deployment)["initContainers"]
    script = (
        init["command"][2]
        .replace("/model_repository_src", str(src))
        .replace("/model_repository", str(dst))
    )
    assert subprocess.run(["sh", "-c", script], timeout=30, check=False).returncode == 0
    copied = {p.relative_to(dst).as_posix(): p for p in dst.rglob("*")}
    want = {
        p.split("/", 1)[1]: t for p, t in repository.files.items() if p.startswith("tensorrtllm/")
    }
    assert {k: v.read_text() for k, v in copied.items() if v.is_file()} == want
    folders = {p.split("/", 1)[1] for p in repository.folders if p.startswith("tensorrtllm/")}
    assert folders <= {k for k, v in copied.items() if v.is_dir()}
