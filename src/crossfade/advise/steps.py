"""The next steps the advice prints. Each crossfade command is shown as it is typed, every
argument shell-quoted, in backticks, and runs as printed (tests/advise/commands.py parses them);
a command always names the spec file and the results folders advise was given.

A team on engines moves off them: to the LLM API model (to vLLM when TensorRT-LLM's PyTorch
backend lacks the model), run beside the ensemble, a canary from one to the other, vLLM kept as
the fallback. Any other team serves from checkpoints, with no engine step: for TensorRT-LLM both
backends side by side, measured, a canary, vLLM kept as the fallback; otherwise vLLM first.
"""

from __future__ import annotations

import shlex
from pathlib import PurePath

from crossfade.advise.flow import LEGACY_ROOT, Recommendation
from crossfade.spec.models import Spec
from crossfade.spec.tensorrtllm import LLMAPI_MODEL_NAME, TensorRTLLMApi, TensorRTLLMEngine

MODEL_REPOS = "model_repos"
LLMAPI_REPOS = "model_repos_llmapi"
MIGRATION = "migration"  # the comparison folder of the legacy steps
# What a tensorrtllm: section for the LLM API model needs, in the words a spec uses.
LLMAPI_SECTION = (
    "layout: llmapi, an image whose TensorRT-LLM is 1.0 or later, and llm_args with model: "
    "the Hugging Face checkpoint"
)


def command(*argv: str) -> str:
    """A crossfade command as it is typed, every argument shell-quoted, in backticks."""
    return "`" + shlex.join(["crossfade", *argv]) + "`"


def next_steps(
    spec: Spec,
    spec_path: str,
    path: list[str],
    recommendation: Recommendation,
    unknowns: list[str],
    results: list[str] | None = None,
) -> list[str]:
    """The steps for where the decision ended (`path`, from the flow's entry) and what it
    recommends; `unknowns` get a step of their own: state them and advise again."""
    state = []
    if unknowns:
        state.append(
            f"State {', '.join(unknowns)} under deployment: in {spec_path} and run "
            f"{command('advise', spec_path, *(results or []))} again."
        )
    if path[0] == LEGACY_ROOT:
        return _off_the_engines(spec, spec_path, recommendation, state)
    if recommendation == "tensorrtllm":
        return [
            f"Serve both backends from one spec: {_render_both(spec, spec_path)}.",
            *state,
            f"Run both side by side on the same workload: {_measure(spec, spec_path)}, to check "
            "the gain at your concurrency.",
            f"Canary: send a small share of traffic to TensorRT-LLM ({command('canary', '--help')}"
            f"; on Kubernetes {command('render', 'canary', '--help')}), and shift more only while "
            "it holds the latency and error targets.",
            "Keep vLLM deployed as the fallback: one step back if TensorRT-LLM misbehaves.",
        ]
    serve = _render(spec_path, MODEL_REPOS)
    if spec.vllm is None:
        serve = f"add a vllm: section to {spec_path}, then {serve}"
    steps = [f"Start on vLLM: {serve}.", *state]
    if recommendation == "either":
        steps.append(
            f"Measure both at your concurrency: {_measure(spec, spec_path)}; a significant "
            "difference decides."
        )
    steps.append(
        "The rest of the path (run both side by side, canary, keep vLLM as the fallback) applies "
        "if one of the things that would change the answer changes."
    )
    return steps


def _off_the_engines(
    spec: Spec, spec_path: str, target: Recommendation, state: list[str]
) -> list[str]:
    trt = spec.tensorrtllm
    name = "the LLM API model" if target == "tensorrtllm" else "vLLM"
    if target == "tensorrtllm":
        first = _llmapi_model(spec, spec_path)
    else:
        serve = _render(spec_path, MODEL_REPOS)
        if spec.vllm is None:
            serve = f"add a vllm: section to {spec_path}, then {serve}"
        first = f"Serve the model on vLLM: {serve}."
    steps = [first, *state]
    if isinstance(trt, TensorRTLLMEngine):
        gpu = ["--gpu", spec.gpu] if spec.gpu else []
        check = command("engine", "check", trt.engine_dir, *gpu, "--image", trt.image)
        if not spec.gpu:
            check += f" (state gpu: in {spec_path} to check the GPU type too)"
        steps.append(
            "Keep the ensemble serving as it is until the canary ends: an engine runs only with "
            "the TensorRT-LLM version it was built with, and 1.3.0rc20 is the last that runs one. "
            f"Check it before any container change: {check}."
        )
    if target == "tensorrtllm":
        llmapi = trt.triton_model_name if isinstance(trt, TensorRTLLMApi) else LLMAPI_MODEL_NAME
        other = f"`triton-trtllm://HOST:8000/{llmapi}`"
    else:
        vllm_name = spec.vllm.triton_model_name if spec.vllm else "vllm_model"
        other = f"`triton-vllm://HOST:8000/{vllm_name}`"
    steps += [
        f"Benchmark both on the same workload: compare the ensemble and {name} (target URLs "
        f"such as `triton-trtllm://HOST:8000/ensemble` and {other}) with "
        f"`{_load(spec, MIGRATION)}` (see {command('compare', '--help')}), then read the result: "
        f"{command('report', MIGRATION, '-o', MIGRATION + '.html')}.",
        f"Canary from the ensemble to {name}: put both behind the router "
        f"({command('route', '--help')}) and shift traffic in steps with "
        f"{command('canary', '--help')} (incumbent: the ensemble, candidate: {name}); it rolls "
        "back on a failing gate.",
    ]
    if target == "tensorrtllm":
        keep = "Keep vLLM deployed as the fallback"
        if spec.vllm is None:
            keep = f"Add a vllm: section to {spec_path} and keep vLLM deployed as the fallback"
        steps.append(
            f"{keep}: one step back if the LLM API model misbehaves. Retire the ensemble once "
            "the LLM API model holds all traffic."
        )
    else:
        steps.append(
            "Retire the ensemble once vLLM holds all traffic; until then it is the way back."
        )
    return steps


def _llmapi_model(spec: Spec, spec_path: str) -> str:
    trt = spec.tensorrtllm
    if isinstance(trt, TensorRTLLMApi):
        return f"Serve the LLM API model {spec_path} describes: {_render(spec_path, MODEL_REPOS)}."
    if trt is None:
        return (
            f"Add a tensorrtllm: section to {spec_path} ({LLMAPI_SECTION}), then "
            f"{_render(spec_path, MODEL_REPOS)}."
        )
    source = PurePath(spec_path)
    copy = str(source.with_name(f"{source.stem}-llmapi{source.suffix or '.yaml'}"))
    return (
        f"Write the LLM API model's spec: copy {spec_path} to {copy} and replace its "
        f"tensorrtllm: section ({LLMAPI_SECTION} the engine was built from, for example the "
        f"folder model.tokenizer names, {spec.model.tokenizer}, if it holds the weights; the "
        f"engine's tensor parallel size as tensor_parallel_size), then "
        f"{_render(copy, LLMAPI_REPOS)}. Nothing is built: the model loads the checkpoint."
    )


def _render(spec_path: str, repos: str) -> str:
    return f"{command('render', 'triton', spec_path, '-o', repos)}, then {command('lint', repos)}"


def _render_both(spec: Spec, spec_path: str) -> str:
    missing = []
    if spec.tensorrtllm is None:
        missing.append(f"a tensorrtllm: section ({LLMAPI_SECTION})")
    if spec.vllm is None:
        missing.append("a vllm: section")
    render = _render(spec_path, MODEL_REPOS)
    if missing:
        return f"add {' and '.join(missing)} to {spec_path}, then {render}"
    return render


def _load(spec: Spec, output: str) -> str:
    """Concurrency levels around the stated one (a default sweep without it), and the folder."""
    stated = spec.deployment.expected_concurrency if spec.deployment else None
    levels = sorted({max(1, stated // 2), stated, stated * 2}) if stated else [1, 2, 4, 8, 16, 32]
    return f"--concurrency {','.join(map(str, levels))} -o {output}"


def _measure(spec: Spec, spec_path: str) -> str:
    """How to compare the two servers around the stated concurrency, and advise on the result."""
    return (
        f"compare your TensorRT-LLM and vLLM servers (their URLs, then `{_load(spec, 'sweep')}`; "
        f"see {command('compare', '--help')}), then {command('advise', spec_path, 'sweep')}"
    )
