"""`render k8s` and `render canary` for TensorRT-LLM's LLM API model, against the legacy layout.

The examples are rendered in either layout (tests/support/layouts.py), whichever one their
file is written in.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from crossfade.bench.targets import parse_target
from crossfade.errors import UsageError
from crossfade.render.k8s.bench_job import resolve_bench_run
from crossfade.render.k8s.canary import build_setup
from crossfade.render.k8s.canary_base import plan_gates
from crossfade.render.k8s.common import Context
from crossfade.render.k8s.manifests import render_k8s, render_notes
from crossfade.spec.canary_plan import parse_plan
from tests.render.k8s.support import SPEC_70B, layout_spec, named, objects, of_kind
from tests.support.layouts import Layout

NAME = "llama-3-70b"
IMAGE_FILES = "/app/all_models/llmapi/tensorrt_llm/1"
PLAN = """\
version: 1
router: {admin_url: "http://127.0.0.1:18801"}
incumbent: vllm-triton
candidate: trtllm-ensemble
steps: [5, 50, 100]
step: {min_duration_s: 90, min_samples: 200, max_duration_s: 300, interval_s: 15}
gates: {ttft_p95_ratio_max: 1.3, error_rate_delta_max: 0.02, min_samples: 30}
on_unclear: pause
journal: canary.jsonl
"""


def server(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = container
    return found


def test_the_pod_serves_the_checkpoint_from_the_weights_claim() -> None:
    # Before: render k8s stopped at the LLM API layout ("no tensorrtllm section of the engine
    # layout").
    manifests = objects(layout_spec("llmapi", path=SPEC_70B))
    deployment = named(manifests, "Deployment", f"{NAME}-tensorrtllm")
    triton = server(deployment)
    assert triton["command"] == ["tritonserver"]  # no mpirun, no orchestrator: LLM() spawns
    assert "env" not in triton
    assert not [arg for arg in triton["args"] if "auto-complete" in arg]
    assert triton["resources"]["limits"]["nvidia.com/gpu"] == 4
    assert triton["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert triton["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    mounts = {m["name"]: m["mountPath"] for m in triton["volumeMounts"]}
    assert mounts == {
        "model-repository": "/model_repository",
        "weights": "/models",
        "dshm": "/dev/shm",
    }
    assert "annotations" not in deployment["metadata"]  # no engine, so no tp-pp annotation
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    config_map = named(manifests, "ConfigMap", volumes["model-repository-src"]["configMap"]["name"])
    assert set(config_map["data"]) == {
        "tensorrt_llm__config.pbtxt",
        "tensorrt_llm__1__model.yaml",
        "tensorrt_llm__MODEL_FILES.md",
    }
    model_yaml = yaml.safe_load(config_map["data"]["tensorrt_llm__1__model.yaml"])
    assert model_yaml["model"] == "/models/llama-3-70b-instruct"  # on the weights claim
    assert model_yaml["tensor_parallel_size"] == 4


@pytest.mark.parametrize("layout", ["engine", "llmapi"])
def test_only_the_legacy_layout_has_an_engine_build_job(layout: Layout) -> None:
    def with_build(data: dict[str, Any]) -> None:
        if layout == "engine":
            data["kubernetes"]["engine_build"] = {"checkpoint_dir": "/models/ckpt", "tp_size": 4}

    tree = render_k8s(layout_spec(layout, with_build, SPEC_70B), "spec.yaml")
    jobs = {path for path in tree.files if path.startswith("jobs/")}
    assert (f"jobs/{NAME}-engine-build.yaml" in jobs) == (layout == "engine")
    engines_mounted = "claimName: llm-engines" in tree.files["deployment.yaml"]
    assert engines_mounted == (layout == "engine")


def copy_script(spec_change: Any = lambda data: None) -> str:
    deployment = named(
        objects(layout_spec("llmapi", spec_change, SPEC_70B)), "Deployment", f"{NAME}-tensorrtllm"
    )
    (init,) = deployment["spec"]["template"]["spec"]["initContainers"]
    script: str = init["command"][2]
    return script


def run_copy(script: str, root: Path, image_files: str) -> subprocess.CompletedProcess[str]:
    """The init script with the ConfigMap, the repository and the image's folder under `root`."""
    src, dst = root / "src", root / "dst"
    (src / "tensorrt_llm" / "1").mkdir(parents=True)
    (src / "tensorrt_llm" / "config.pbtxt").write_text('name: "tensorrt_llm"\n')
    (src / "tensorrt_llm" / "1" / "model.yaml").write_text("model: /models/x\n")
    dst.mkdir()
    script = (
        script.replace("/model_repository_src", str(src))
        .replace("/model_repository", str(dst))
        .replace(image_files, str(root / "image"))
    )
    return subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.servers
def test_the_init_container_takes_model_py_and_helpers_py_from_the_image(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.mkdir()
    for name in ("model.py", "helpers.py"):
        (image / name).write_text(f"# upstream {name}\n")
    done = run_copy(copy_script(), tmp_path, IMAGE_FILES)
    assert done.returncode == 0, done.stderr
    version = tmp_path / "dst" / "tensorrt_llm" / "1"
    assert sorted(p.name for p in version.iterdir()) == ["helpers.py", "model.py", "model.yaml"]
    assert (version / "model.py").read_text() == "# upstream model.py\n"


@pytest.mark.servers
def test_an_image_without_the_model_files_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "image").mkdir()
    (tmp_path / "image" / "model.py").write_text("")
    done = run_copy(copy_script(), tmp_path, IMAGE_FILES)
    assert done.returncode == 1
    assert f"crossfade: {tmp_path}/image/helpers.py is not in the image " in done.stderr
    assert "Fix: set tensorrtllm.model_files to their folder in this image" in done.stderr
    assert not (tmp_path / "dst" / "tensorrt_llm" / "1" / "model.py").exists()


@pytest.mark.servers
def test_model_files_from_the_spec(tmp_path: Path) -> None:
    def elsewhere(data: dict[str, Any]) -> None:
        data["tensorrtllm"]["model_files"] = "/opt/llmapi/1/"

    script = copy_script(elsewhere)
    assert IMAGE_FILES not in script
    (tmp_path / "image").mkdir()
    for name in ("model.py", "helpers.py"):
        (tmp_path / "image" / name).write_text("")
    assert run_copy(script, tmp_path, "/opt/llmapi/1").returncode == 0


def test_a_hub_id_is_downloaded_by_each_pod_and_the_notes_say_so() -> None:
    def hub(data: dict[str, Any]) -> None:
        data["tensorrtllm"]["llm_args"]["model"] = "meta-llama/Meta-Llama-3-70B-Instruct"

    spec = layout_spec("llmapi", hub, SPEC_70B)
    (note,) = [n for n in render_notes(spec) if "Hugging Face Hub id" in n]
    assert "network access to the Hub, and HF_TOKEN" in note
    assert (
        "# Note: tensorrtllm.llm_args.model"
        in render_k8s(spec, "spec.yaml").files["deployment.yaml"]
    )
    local = layout_spec("llmapi", path=SPEC_70B)
    assert not [n for n in render_notes(local) if "Hub id" in n]


def test_the_llmapi_model_gets_a_bench_job_that_speaks_it() -> None:
    # Before the LLM API dialect: no Job (an ensemble-dialect Job would have failed every request).
    spec = layout_spec("llmapi", path=SPEC_70B)
    jobs = sorted(path for path in render_k8s(spec, "spec.yaml").files if path.startswith("jobs/"))
    assert jobs == [f"jobs/{NAME}-bench-tensorrtllm.yaml", f"jobs/{NAME}-bench-vllm.yaml"]
    target = resolve_bench_run(spec, backend="tensorrtllm").target
    assert target.startswith("triton-llmapi://")
    assert target.endswith("/tensorrt_llm")
    assert parse_target(target).dialect.forces_length is False
    assert any("counted with the workload's tokenizer" in note for note in render_notes(spec))
    assert resolve_bench_run(spec, backend="vllm").target.startswith("triton-vllm://")


@pytest.mark.parametrize("vllm_name", ["ensemble", "tensorrt_llm"])
def test_a_split_between_the_llmapi_model_and_vllm_is_refused_whatever_the_names(
    vllm_name: str,
) -> None:
    def mixed(data: dict[str, Any]) -> None:
        data["vllm"]["triton_model_name"] = vllm_name
        data["kubernetes"]["traffic"]["weights"] = {"tensorrtllm": 90, "vllm": 10}

    with pytest.raises(UsageError) as caught:
        render_k8s(layout_spec("llmapi", mixed, SPEC_70B), "spec.yaml")
    message = str(caught.value)
    assert message.startswith("kubernetes.traffic.weights sends requests to both backends (90/10)")
    assert "the LLM API model ('tensorrt_llm')" in message
    assert "sampling_param_max_tokens" in message
    assert "Fix: send all traffic to one backend (weights 100/0 or 0/100)" in message
    assert "triton-llmapi://" in message


def test_all_traffic_on_one_side_renders_and_twice_the_same() -> None:
    spec = layout_spec("llmapi", path=SPEC_70B)  # 100/0, failover off
    assert render_k8s(spec, "spec.yaml").files == render_k8s(spec, "spec.yaml").files
    manifests = objects(spec)
    (route,) = of_kind(manifests, "HTTPRoute")
    weights = [ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]]
    assert weights == [100, 0]


def test_a_canary_needs_one_request_for_both_backends() -> None:
    # Before: render canary checked no model name; a canary between 'ensemble' and
    # 'vllm_model' rendered, and every request on the wrong side failed.
    plan = parse_plan(PLAN)

    def named_apart(data: dict[str, Any]) -> None:
        data["vllm"]["triton_model_name"] = "vllm_model"

    with pytest.raises(UsageError) as caught:
        build_setup(layout_spec("engine", named_apart), plan)
    assert str(caught.value).startswith("a canary sends each request to either backend, but")
    assert "set vllm.triton_model_name: ensemble" in str(caught.value)
    assert "send all traffic to one backend" not in str(caught.value)
    with pytest.raises(UsageError, match="the LLM API model") as caught:
        build_setup(layout_spec("llmapi"), plan)
    assert "Fix: put crossfade's router in front (crossfade route)" in str(caught.value)
    assert "run the canary through it (crossfade route CONFIG --plan PLAN)" in str(caught.value)
    assert build_setup(layout_spec("engine"), plan).candidate == "tensorrtllm"


@pytest.mark.parametrize(
    ("layout", "matcher"),
    [("engine", 'model=~"ensemble|tensorrt_llm_bls"'), ("llmapi", 'model="tensorrt_llm"')],
)
def test_canary_queries_count_each_layouts_entry_model(layout: Layout, matcher: str) -> None:
    ctx = Context.of(layout_spec(layout))
    gates = plan_gates(ctx, parse_plan(PLAN), "tensorrtllm", "vllm", "llm/canary").gates
    errors = next(gate for gate in gates if gate.name == "error-rate-delta")
    trt_side = [line for line in errors.query.splitlines() if 'backend="tensorrtllm"' in line]
    assert trt_side
    assert all(matcher in line for line in trt_side)


@pytest.mark.parametrize("decoupled", [True, False])
def test_canary_gates_on_the_llm_api_model_read_tritons_own_metrics_only(decoupled: bool) -> None:
    """The LLM API model exports no nv_trt_llm_* and no per-token histogram: TTFT is Triton's
    first-response histogram (only while the model streams), errors Triton's counters; the ITL
    gate is left out, and the notes say what the error gate does not see."""
    spec = layout_spec("llmapi", lambda data: data["tensorrtllm"].update(decoupled=decoupled))
    plan = PLAN.replace("error_rate_delta_max", "itl_p95_ratio_max: 1.2, error_rate_delta_max")
    planned = plan_gates(Context.of(spec), parse_plan(plan), "tensorrtllm", "vllm", "llm/canary")
    names = [gate.name for gate in planned.gates]
    assert names == (["ttft-p95-ratio", "error-rate-delta"] if decoupled else ["error-rate-delta"])
    queries = "\n".join(gate.query for gate in planned.gates)
    assert "nv_trt_llm" not in queries
    if decoupled:
        ttft = 'nv_inference_first_response_histogram_ms_bucket{namespace="llm", job="llm/canary"'
        assert f'{ttft}, backend="tensorrtllm", model="tensorrt_llm"}}' in queries
    else:
        assert planned.left_out["ttft_p95_ratio_max"].startswith(
            "tensorrtllm: tensorrtllm.decoupled is false, so the model answers once"
        )
    assert (
        "the LLM API model exports Triton's nv_inference_* only"
        in planned.left_out["itl_p95_ratio_max"]
    )
    summary = planned.summary("vllm", "tensorrtllm")
    assert "-> TensorRT-LLM's LLM API model in Triton (candidate); rendered: " in summary
    assert any(
        note.startswith("error-rate-delta on TensorRT-LLM's LLM API model in Triton: Triton's")
        for note in planned.notes
    )
