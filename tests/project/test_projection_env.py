"""The projection for real, in the projection environment (.venv-projection, which
`scripts/test` sets up): `crossfade project` for Llama-3.1-8B and Llama-3 70B FP8 TP4 on H100 at
three concurrencies, both backends, its saved figures against AIConfigurator called directly
there with the same inputs; and what it says of a GPU, model or quantization the databases
lack. Each test starts the projection worker (a subprocess of a few seconds)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from crossfade.cli import main
from crossfade.project.environment import projection_python
from crossfade.project.hf_config import SHIPPED_FOLDER
from crossfade.project.model import Projection, load_projection
from tests.support.paths import ROOT

pytestmark = pytest.mark.servers  # they start the projection environment's worker process

SPEC_8B = ROOT / "examples" / "llama-3-8b.yaml"
SPEC_70B = ROOT / "examples" / "llama-3-70b-fp8-tp4.yaml"
CONFIG_8B = SHIPPED_FOLDER / "llama-3.1-8b-instruct.json"
CONFIG_70B = SHIPPED_FOLDER / "llama-3-70b-instruct.json"
LEVELS = [1, 8, 32]
DATABASE_BACKENDS = {"tensorrtllm": "trtllm", "vllm": "vllm"}

# The library called directly, as its own documentation shows, with the inputs on stdin.
DIRECT = """
import contextlib, json, pathlib, sys, tempfile
from aiconfigurator.cli.api import cli_estimate
asked = json.load(sys.stdin)
answers = {}
with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(sys.stderr):
    pathlib.Path(folder, "config.json").write_text(asked["config"])
    for backend, tp in asked["backends"].items():
        for level in asked["levels"]:
            r = cli_estimate(
                folder, asked["system"], backend_name=backend, isl=asked["isl"],
                osl=asked["osl"], batch_size=level, tp_size=tp, pp_size=1,
                gemm_quant_mode=asked["gemm"], kvcache_quant_mode=asked["kv"],
            )
            answers[f"{backend} {level}"] = {
                "version": r.backend_version, "ttft": r.ttft, "tpot": r.tpot,
                "latency": r.request_latency, "tps": r.tokens_per_second,
                "tps_gpu": r.tokens_per_second_per_gpu, "tps_user": r.tokens_per_second_per_user,
                "memory": r.memory, "gemm": r.raw["gemm"], "kv": r.raw["kvcache"],
            }
print(json.dumps(answers))
"""


def direct(asked: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(projection_python()), "-c", DIRECT],
        input=json.dumps(asked),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answers: dict[str, Any] = json.loads(done.stdout)
    return answers


def project(tmp_path: Path, *args: str) -> tuple[int, Projection | None]:
    code = main(["project", *args, "--input-len", "1024", "--output-len", "256",
                 "--concurrency", ",".join(map(str, LEVELS)), "-o", str(tmp_path)])  # fmt: skip
    saved = tmp_path / "projection.json"
    return code, load_projection(saved) if saved.exists() else None


@pytest.mark.parametrize(
    ("spec", "config", "given", "gemm", "kv", "tp"),
    [
        (SPEC_8B, CONFIG_8B, True, "bfloat16", "bfloat16", 1),
        (SPEC_70B, CONFIG_70B, False, "fp8", "fp8", 4),
    ],
    ids=["llama-3.1-8b", "llama-3-70b-fp8-tp4"],
)
def test_the_saved_figures_are_the_librarys(
    tmp_path: Path, spec: Path, config: Path, given: bool, gemm: str, kv: str, tp: int
) -> None:
    args = [str(spec), "--model-config", str(config)] if given else [str(spec)]
    code, projection = project(tmp_path, *args)
    assert code == 0
    assert projection is not None
    inputs = projection.inputs
    assert (inputs.system, inputs.input_len, inputs.output_len) == ("h100_sxm", 1024, 256)
    assert (inputs.hf_config.path, inputs.concurrency) == (
        str(config) if given else config.name,
        LEVELS,
    )
    answers = direct({
        "config": config.read_text(encoding="utf-8"), "system": "h100_sxm", "isl": 1024,
        "osl": 256, "levels": LEVELS, "gemm": gemm, "kv": kv,
        "backends": {"trtllm": tp, "vllm": tp},
    })  # fmt: skip
    assert [b.backend for b in projection.backends] == ["tensorrtllm", "vllm"]
    for backend in projection.backends:
        assert (backend.tensor_parallel, backend.pipeline_parallel) == (tp, 1)
        name = DATABASE_BACKENDS[backend.backend]
        assert [p.concurrency for p in backend.points] == LEVELS
        for point in backend.points:
            answer = answers[f"{name} {point.concurrency}"]
            assert backend.database_version == answer["version"]
            assert backend.precision is not None
            assert (backend.precision.gemm, backend.precision.kv_cache) == (
                answer["gemm"],
                answer["kv"],
            )
            figures = point.figures
            assert figures is not None
            assert (
                figures.ttft_ms, figures.tpot_ms, figures.e2e_ms,
                figures.output_token_throughput, figures.output_token_throughput_per_gpu,
                figures.output_tokens_per_s_per_user, figures.memory_gb,
            ) == pytest.approx((
                answer["ttft"], answer["tpot"], answer["latency"], answer["tps"],
                answer["tps_gpu"], answer["tps_user"], answer["memory"],
            ), rel=1e-12)  # fmt: skip
    assert [c.metric for c in projection.crossovers] == [
        "output_token_throughput_per_gpu",
        "ttft_ms",
        "tpot_ms",
    ]


def test_a_gpu_without_a_database_is_refused_naming_those_with_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, projection = project(tmp_path, str(SPEC_8B), "--gpu", "A30")
    err = capsys.readouterr().err
    assert (code, projection) == (2, None)
    assert err.startswith("crossfade project: GPU 'A30' is system a30, for which the projection")
    assert "H100 (h100_sxm)" in err
    assert "Traceback" not in err


def test_a_model_the_library_does_not_model_is_refused_naming_those_it_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gpt2" / "config.json"
    config.parent.mkdir()
    config.write_text('{"architectures": ["GPT2LMHeadModel"], "n_layer": 12, "n_head": 12}')
    code, projection = project(tmp_path / "out", str(SPEC_8B), "--model-config", str(config))
    err = capsys.readouterr().err
    assert (code, projection) == (2, None)
    assert "architecture GPT2LMHeadModel is not one the projection models" in err
    assert "LlamaForCausalLM" in err
    assert "Traceback" not in err


def test_a_quantization_without_kernels_on_the_gpu_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, projection = project(tmp_path, str(SPEC_8B), "--quantization", "nvfp4")
    err = capsys.readouterr().err
    assert (code, projection) == (2, None)
    assert "quantization 'nvfp4' (from --quantization" in err
    assert "measured there: none, fp8" in err
