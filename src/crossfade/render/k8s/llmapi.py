"""What the pods of TensorRT-LLM's LLM API model need beyond the rendered repository.

The model's config.pbtxt and `1/model.yaml` ship in the ConfigMap like any repository file.
Its code, model.py and helpers.py, is upstream's and ships in the serving image, in
`tensorrtllm.model_files`: the init container runs that same image, so it copies them from
there into `<repository>/<model>/1/`, and stops with the folder and the fix when the image
has none.

How tritonserver is started (checked against upstream; no engine, no build Job):
- One plain `tritonserver` process, whatever the tensor or pipeline parallel size. The model
  starts `tensorrt_llm.LLM`, which spawns its own MPI workers, one per GPU; model.py first
  clears the MPI job variables an outer `mpirun` would have set, so that each instance starts
  MPI afresh (NVIDIA/TensorRT-LLM@044a90d2
  triton_backend/all_models/llmapi/tensorrt_llm/1/model.py). Upstream's launcher wraps a
  single instance in `mpirun -n 1`, which that clearing undoes for the model, and runs
  several instances with `--no-mpi`, "required" there: the plain process rendered here
  (triton-inference-server/tensorrtllm_backend@0b9d7d5a docs/llmapi.md, "Running Multiple
  Model Instances"; NVIDIA/TensorRT-LLM triton_backend/scripts/launch_triton_server.py).
- No TRTLLM_ORCHESTRATOR: that is the legacy C++ backend's orchestrator mode.
- No `--disable-auto-complete-config`, which upstream's launcher passes: the model's
  auto_complete_config is what turns model.yaml's triton_config (decoupled, max_batch_size)
  into the served config, and the python backend calls it only when auto-complete is on
  (triton-inference-server/python_backend src/python_be.cc, ModelState::Create).
"""

from __future__ import annotations

import shlex

from crossfade.render.k8s.common import Context, shell_command
from crossfade.spec.kubernetes_checks import MODEL_REPOSITORY_PATH
from crossfade.spec.tensorrtllm import TensorRTLLMApi

MODEL_FILES = ("model.py", "helpers.py")


def llmapi_backend(ctx: Context) -> TensorRTLLMApi | None:
    trt = ctx.spec.tensorrtllm
    return trt if isinstance(trt, TensorRTLLMApi) else None


def model_files_script(backend: TensorRTLLMApi, image: str) -> list[str]:
    """Shell lines that copy upstream's model.py and helpers.py from the image into the
    repository, after checking both are there."""
    paths = [f"{backend.model_files.rstrip('/')}/{name}" for name in MODEL_FILES]
    why = (
        f" is not in the image {image}, which must hold {' and '.join(MODEL_FILES)} of the LLM "
        "API model. Fix: set tensorrtllm.model_files to their folder in this image, or use a "
        "Triton -trtllm-python-py3 image that ships all_models/llmapi, and render again."
    )
    check = f'[ -f "$file" ] || {{ echo "crossfade: $file"{shlex.quote(why)} >&2; exit 1; }}'
    target = f"{MODEL_REPOSITORY_PATH}/{backend.triton_model_name}/1/"
    return [
        f"for file in {' '.join(shlex.quote(path) for path in paths)}; do",
        f"  {check}",
        "done",
        shell_command(["cp"], [*paths, target]),
    ]


def serving_notes(ctx: Context) -> list[str]:
    """What the LLM API pods need that no rendered object provides."""
    backend = llmapi_backend(ctx)
    if backend is None:
        return []
    model = str(backend.llm_args["model"])
    if model.startswith("/"):
        return []
    return [
        f"tensorrtllm.llm_args.model '{model}' is a Hugging Face Hub id: every TensorRT-LLM "
        "pod downloads it when it starts, into the container's own disk (again after each "
        "restart). The pods need network access to the Hub, and HF_TOKEN in their environment "
        "for a gated model (add it to the Deployment from a Secret). A checkpoint folder on "
        "kubernetes.storage.weights needs neither."
    ]
