"""Consistency of the tensor tables in crossfade.render.tensors."""

from __future__ import annotations

from itertools import combinations

import pytest

from crossfade.render import tensors as t

ALL_LISTS: dict[str, tuple[t.Tensor, ...]] = {
    "PREPROCESSING_INPUTS": t.PREPROCESSING_INPUTS,
    "PREPROCESSING_OUTPUTS": t.PREPROCESSING_OUTPUTS,
    "TENSORRT_LLM_INPUTS": t.TENSORRT_LLM_INPUTS,
    "TENSORRT_LLM_OUTPUTS": t.TENSORRT_LLM_OUTPUTS,
    "POSTPROCESSING_INPUTS": t.POSTPROCESSING_INPUTS,
    "POSTPROCESSING_OUTPUTS": t.POSTPROCESSING_OUTPUTS,
    "ENSEMBLE_INPUTS": t.ENSEMBLE_INPUTS,
    "ENSEMBLE_OUTPUTS": t.ENSEMBLE_OUTPUTS,
    "BLS_INPUTS": t.BLS_INPUTS,
    "BLS_OUTPUTS": t.BLS_OUTPUTS,
    "VLLM_INPUTS": t.VLLM_INPUTS,
    "VLLM_OUTPUTS": t.VLLM_OUTPUTS,
}

FEATURE_SUBSETS = [
    frozenset(c) for n in range(len(t.FEATURES) + 1) for c in combinations(sorted(t.FEATURES), n)
]


def _check_wiring(
    steps: tuple[t.StepMap, ...],
    models: dict[str, tuple[tuple[t.Tensor, ...], tuple[t.Tensor, ...]]],
    ens_inputs: tuple[t.Tensor, ...],
    ens_outputs: tuple[t.Tensor, ...],
) -> None:
    ens_in = {x.name for x in ens_inputs}
    ens_out = {x.name for x in ens_outputs}
    produced: set[str] = set()
    consumed_later: dict[str, int] = {}
    for index, step in enumerate(steps):
        model_in, model_out = models[step.model_name]
        in_names = {x.name for x in model_in}
        out_names = {x.name for x in model_out}
        for key, value in step.input_map:
            assert key in in_names, f"{step.model_name}: {key} is not an input"
            if value not in ens_in:
                assert value in produced, f"{value} consumed before any step produced it"
                consumed_later.setdefault(value, index)
        for key, value in step.output_map:
            assert key in out_names, f"{step.model_name}: {key} is not an output"
            assert value not in produced, f"{value} produced twice"
            assert value not in ens_in, f"{value} overwrites an ensemble input"
            produced.add(value)
    consumed = {value for step in steps for _, value in step.input_map}
    assert ens_in <= consumed, f"unconsumed ensemble inputs: {sorted(ens_in - consumed)}"
    assert ens_out <= produced, f"unproduced ensemble outputs: {sorted(ens_out - produced)}"
    internal = produced - ens_out
    unused = internal - set(consumed_later)
    assert not unused, f"internal tensors nobody consumes: {sorted(unused)}"
    for index, step in enumerate(steps):
        for _, value in step.output_map:
            if value in internal:
                assert consumed_later[value] > index, f"{value} consumed before produced"


def test_ensemble_steps_are_consistent() -> None:
    assert [s.model_name for s in t.ENSEMBLE_STEPS] == [
        "preprocessing",
        "tensorrt_llm",
        "postprocessing",
    ]
    _check_wiring(
        t.ENSEMBLE_STEPS, dict(t.STEP_MODEL_TENSORS), t.ENSEMBLE_INPUTS, t.ENSEMBLE_OUTPUTS
    )


@pytest.mark.parametrize("keep", FEATURE_SUBSETS, ids=lambda k: "+".join(sorted(k)) or "core")
def test_feature_filtered_steps_are_consistent(keep: frozenset[str]) -> None:
    models = {
        name: (t.without_features(ins, keep), t.without_features(outs, keep))
        for name, (ins, outs) in t.STEP_MODEL_TENSORS.items()
    }
    _check_wiring(
        t.steps_without_features(keep),
        models,
        t.without_features(t.ENSEMBLE_INPUTS, keep),
        t.without_features(t.ENSEMBLE_OUTPUTS, keep),
    )


def test_all_features_kept_is_identity() -> None:
    assert t.steps_without_features(t.FEATURES) == t.ENSEMBLE_STEPS


@pytest.mark.parametrize("name", sorted(ALL_LISTS))
def test_no_repeated_names(name: str) -> None:
    names = [x.name for x in ALL_LISTS[name]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", sorted(ALL_LISTS))
def test_data_types_are_enum_names_or_markers(name: str) -> None:
    for x in ALL_LISTS[name]:
        assert x.data_type.startswith("TYPE_") or x.data_type in t.DATATYPE_MARKERS, x


def test_tensorrt_llm_required_inputs() -> None:
    trt = t.by_name(t.TENSORRT_LLM_INPUTS)
    assert not trt["input_lengths"].optional
    assert not trt["request_output_len"].optional
    # Upstream declares input_ids optional (encoder-only requests omit it); it is still core.
    assert trt["input_ids"].feature is None
    assert trt["input_ids"].allow_ragged_batch


def test_min_tokens_not_min_length() -> None:
    for name in ("TENSORRT_LLM_INPUTS", "ENSEMBLE_INPUTS", "BLS_INPUTS"):
        names = t.by_name(ALL_LISTS[name])
        assert "min_tokens" in names, name
        assert "min_length" not in names, name


def test_seed_routed_to_tensorrt_llm() -> None:
    (trt_step,) = [s for s in t.ENSEMBLE_STEPS if s.model_name == "tensorrt_llm"]
    assert ("seed", "seed") in trt_step.input_map


def test_vllm_token_counts_are_uint32() -> None:
    out = t.by_name(t.VLLM_OUTPUTS)
    assert out["num_input_tokens"].data_type == "TYPE_UINT32"
    assert out["num_input_tokens"].dims == (1,)
    assert out["num_output_tokens"].data_type == "TYPE_UINT32"
