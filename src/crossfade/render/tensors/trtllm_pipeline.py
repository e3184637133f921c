"""The Python models around the engine (preprocessing, postprocessing, tensorrt_llm_bls) and
the ensemble that wires them to `tensorrt_llm`."""

from __future__ import annotations

from collections.abc import Mapping

from crossfade.render.tensors.base import (
    ENCDEC,
    GUIDED,
    LORA,
    MULTIMODAL,
    PROMPT_EMBEDDING_TABLE_DATATYPE,
    SCALAR,
    SPECULATIVE,
    StepMap,
    Tensor,
    by_name,
    without_features,
)
from crossfade.render.tensors.trtllm_engine import (
    GENERATION_OUTPUTS,
    STATS_OUTPUTS,
    TENSORRT_LLM_INPUTS,
    TENSORRT_LLM_OUTPUTS,
)

# --------------------------------------------------------------------------------------------
# preprocessing (Python backend: tokenizer, plus vision preprocessing for multimodal models)
# --------------------------------------------------------------------------------------------

PREPROCESSING_INPUTS: tuple[Tensor, ...] = (
    Tensor("QUERY", "TYPE_STRING", (1,)),
    Tensor("DECODER_QUERY", "TYPE_STRING", (1,), optional=True, feature=ENCDEC),
    Tensor("IMAGE_BYTES", "TYPE_UINT8", (-1, -1, -1, -1), optional=True, feature=MULTIMODAL),
    Tensor("IMAGE_URL", "TYPE_STRING", (-1,), optional=True, feature=MULTIMODAL),
    Tensor("IMAGE_SIZES", "TYPE_INT64", (-1, 2), optional=True, feature=MULTIMODAL),
    Tensor("VIDEO_BYTES", "TYPE_UINT8", (-1, -1, -1, -1), optional=True, feature=MULTIMODAL),
    Tensor("REQUEST_OUTPUT_LEN", "TYPE_INT32", (1,)),
    Tensor("BAD_WORDS_DICT", "TYPE_STRING", (-1,), optional=True),
    Tensor("STOP_WORDS_DICT", "TYPE_STRING", (-1,), optional=True),
    Tensor("EMBEDDING_BIAS_WORDS", "TYPE_STRING", (-1,), optional=True),
    Tensor("EMBEDDING_BIAS_WEIGHTS", "TYPE_FP32", (-1,), optional=True),
    Tensor("END_ID", "TYPE_INT32", (1,), optional=True),
    Tensor("PAD_ID", "TYPE_INT32", (1,), optional=True),
    Tensor("PROMPT_TABLE_EXTRA_ID", "TYPE_UINT64", (1,), optional=True, feature=MULTIMODAL),
)

PREPROCESSING_OUTPUTS: tuple[Tensor, ...] = (
    Tensor("INPUT_ID", "TYPE_INT32", (-1,)),
    Tensor("REQUEST_INPUT_LEN", "TYPE_INT32", (1,)),
    Tensor("DECODER_INPUT_ID", "TYPE_INT32", (-1,), feature=ENCDEC),
    Tensor("REQUEST_DECODER_INPUT_LEN", "TYPE_INT32", (1,), feature=ENCDEC),
    Tensor("BAD_WORDS_IDS", "TYPE_INT32", (2, -1)),
    Tensor("STOP_WORDS_IDS", "TYPE_INT32", (2, -1)),
    Tensor("EMBEDDING_BIAS", "TYPE_FP32", (-1,)),
    # Upstream declares [ -1 ] here although the input and tensorrt_llm's request_output_len
    # are [ 1 ].
    Tensor("REQUEST_OUTPUT_LEN", "TYPE_INT32", (-1,)),
    Tensor("OUT_END_ID", "TYPE_INT32", (1,)),
    Tensor("OUT_PAD_ID", "TYPE_INT32", (1,)),
    Tensor("OUT_PROMPT_TABLE_EXTRA_IDS", "TYPE_UINT64", (-1,), feature=MULTIMODAL),
    Tensor("PIXEL_VALUES", "TYPE_FP16", (-1, -1, -1, -1), feature=MULTIMODAL),
    Tensor("ASPECT_RATIO_IDS", "TYPE_INT64", (-1,), feature=MULTIMODAL),
    Tensor("ASPECT_RATIO_MASK", "TYPE_INT64", (-1, -1), feature=MULTIMODAL),
    Tensor("CROSS_ATTENTION_MASK", "TYPE_INT64", (-1, -1, -1), feature=MULTIMODAL),
    Tensor("IMAGE_SIZES", "TYPE_INT64", (-1, 2), feature=MULTIMODAL),
    Tensor("IS_VIDEO_INPUT", "TYPE_BOOL", (1,), feature=MULTIMODAL),
    Tensor("ATTENTION_MASK", "TYPE_INT64", (-1,), feature=MULTIMODAL),
    Tensor("IMAGE_GRID_THW", "TYPE_INT64", (3,), feature=MULTIMODAL),
    Tensor("VISION_INPUT_ID", "TYPE_INT32", (-1,), feature=MULTIMODAL),
)

POSTPROCESSING_INPUTS: tuple[Tensor, ...] = (
    Tensor("TOKENS_BATCH", "TYPE_INT32", (-1, -1)),
    Tensor("SEQUENCE_LENGTH", "TYPE_INT32", (-1,)),
)

POSTPROCESSING_OUTPUTS: tuple[Tensor, ...] = (Tensor("OUTPUT", "TYPE_STRING", (-1,)),)

# --------------------------------------------------------------------------------------------
# ensemble (platform "ensemble"): client-facing tensors
# --------------------------------------------------------------------------------------------

ENSEMBLE_INPUTS: tuple[Tensor, ...] = (
    Tensor("text_input", "TYPE_STRING", (1,)),
    Tensor("decoder_text_input", "TYPE_STRING", (1,), optional=True, feature=ENCDEC),
    Tensor("max_tokens", "TYPE_INT32", (1,)),
    Tensor("num_return_sequences", "TYPE_INT32", (1,), optional=True),
    Tensor("bad_words", "TYPE_STRING", (-1,), optional=True),
    Tensor("stop_words", "TYPE_STRING", (-1,), optional=True),
    Tensor("exclude_input_in_output", "TYPE_BOOL", (1,), optional=True),
    Tensor("end_id", "TYPE_INT32", (1,), optional=True),
    Tensor("pad_id", "TYPE_INT32", (1,), optional=True),
    Tensor("top_k", "TYPE_INT32", (1,), optional=True),
    Tensor("top_p", "TYPE_FP32", (1,), optional=True),
    Tensor("temperature", "TYPE_FP32", (1,), optional=True),
    Tensor("length_penalty", "TYPE_FP32", (1,), optional=True),
    Tensor("repetition_penalty", "TYPE_FP32", (1,), optional=True),
    Tensor("min_tokens", "TYPE_INT32", (1,), optional=True),
    Tensor("presence_penalty", "TYPE_FP32", (1,), optional=True),
    Tensor("frequency_penalty", "TYPE_FP32", (1,), optional=True),
    Tensor("seed", "TYPE_UINT64", (1,), optional=True),
    Tensor("return_log_probs", "TYPE_BOOL", (1,), optional=True),
    Tensor("return_context_logits", "TYPE_BOOL", (1,), optional=True),
    Tensor("return_generation_logits", "TYPE_BOOL", (1,), optional=True),
    Tensor("return_perf_metrics", "TYPE_BOOL", (1,), optional=True),
    Tensor("return_num_input_tokens", "TYPE_BOOL", (1,), optional=True),
    Tensor("return_num_output_tokens", "TYPE_BOOL", (1,), optional=True),
    Tensor("beam_width", "TYPE_INT32", (1,), optional=True),
    Tensor("stream", "TYPE_BOOL", (1,), optional=True),
    # Fixed TYPE_FP16 in the ensemble template (no data type variable there).
    Tensor("prompt_embedding_table", "TYPE_FP16", (-1, -1), optional=True, feature=MULTIMODAL),
    Tensor("prompt_table_extra_id", "TYPE_UINT64", (1,), optional=True, feature=MULTIMODAL),
    Tensor("prompt_vocab_size", "TYPE_INT32", (1,), optional=True, feature=MULTIMODAL),
    Tensor("embedding_bias_words", "TYPE_STRING", (-1,), optional=True),
    Tensor("embedding_bias_weights", "TYPE_FP32", (-1,), optional=True),
    Tensor("lora_task_id", "TYPE_UINT64", (1,), optional=True, feature=LORA),
    Tensor(
        "lora_weights",
        "TYPE_FP16",
        (-1, -1),
        optional=True,
        allow_ragged_batch=True,
        feature=LORA,
    ),
    Tensor(
        "lora_config",
        "TYPE_INT32",
        (-1, 3),
        optional=True,
        allow_ragged_batch=True,
        feature=LORA,
    ),
    Tensor(
        "guided_decoding_guide_type",
        "TYPE_STRING",
        (1,),
        optional=True,
        allow_ragged_batch=True,
        feature=GUIDED,
    ),
    Tensor(
        "guided_decoding_guide",
        "TYPE_STRING",
        (1,),
        optional=True,
        allow_ragged_batch=True,
        feature=GUIDED,
    ),
)

# Upstream repeats kv_cache_alloc_total_blocks; listed once here.
ENSEMBLE_OUTPUTS: tuple[Tensor, ...] = (
    Tensor("text_output", "TYPE_STRING", (-1,)),
    *GENERATION_OUTPUTS,
    *STATS_OUTPUTS,
)

_PREPROCESSING_STEP = StepMap(
    model_name="preprocessing",
    input_map=(
        ("QUERY", "text_input"),
        ("DECODER_QUERY", "decoder_text_input"),
        ("REQUEST_OUTPUT_LEN", "max_tokens"),
        ("BAD_WORDS_DICT", "bad_words"),
        ("STOP_WORDS_DICT", "stop_words"),
        ("EMBEDDING_BIAS_WORDS", "embedding_bias_words"),
        ("EMBEDDING_BIAS_WEIGHTS", "embedding_bias_weights"),
        ("END_ID", "end_id"),
        ("PAD_ID", "pad_id"),
        ("PROMPT_TABLE_EXTRA_ID", "prompt_table_extra_id"),
    ),
    output_map=(
        ("REQUEST_INPUT_LEN", "_REQUEST_INPUT_LEN"),
        ("INPUT_ID", "_INPUT_ID"),
        ("REQUEST_DECODER_INPUT_LEN", "_REQUEST_DECODER_INPUT_LEN"),
        ("DECODER_INPUT_ID", "_DECODER_INPUT_ID"),
        ("REQUEST_OUTPUT_LEN", "_REQUEST_OUTPUT_LEN"),
        ("STOP_WORDS_IDS", "_STOP_WORDS_IDS"),
        ("BAD_WORDS_IDS", "_BAD_WORDS_IDS"),
        ("EMBEDDING_BIAS", "_EMBEDDING_BIAS"),
        ("OUT_END_ID", "_PREPROCESSOR_END_ID"),
        ("OUT_PAD_ID", "_PREPROCESSOR_PAD_ID"),
        ("OUT_PROMPT_TABLE_EXTRA_IDS", "_OUT_PROMPT_TABLE_EXTRA_IDS"),
    ),
)

_TENSORRT_LLM_STEP = StepMap(
    model_name="tensorrt_llm",
    input_map=(
        ("input_ids", "_INPUT_ID"),
        ("decoder_input_ids", "_DECODER_INPUT_ID"),
        ("input_lengths", "_REQUEST_INPUT_LEN"),
        ("decoder_input_lengths", "_REQUEST_DECODER_INPUT_LEN"),
        ("exclude_input_in_output", "exclude_input_in_output"),
        ("request_output_len", "_REQUEST_OUTPUT_LEN"),
        ("end_id", "_PREPROCESSOR_END_ID"),
        ("pad_id", "_PREPROCESSOR_PAD_ID"),
        ("embedding_bias", "_EMBEDDING_BIAS"),
        ("runtime_top_k", "top_k"),
        ("runtime_top_p", "top_p"),
        ("temperature", "temperature"),
        ("len_penalty", "length_penalty"),
        ("repetition_penalty", "repetition_penalty"),
        ("min_tokens", "min_tokens"),
        ("presence_penalty", "presence_penalty"),
        ("frequency_penalty", "frequency_penalty"),
        ("seed", "seed"),
        ("return_log_probs", "return_log_probs"),
        ("return_context_logits", "return_context_logits"),
        ("return_generation_logits", "return_generation_logits"),
        ("return_perf_metrics", "return_perf_metrics"),
        ("return_num_input_tokens", "return_num_input_tokens"),
        ("return_num_output_tokens", "return_num_output_tokens"),
        ("num_return_sequences", "num_return_sequences"),
        ("beam_width", "beam_width"),
        ("streaming", "stream"),
        ("prompt_embedding_table", "prompt_embedding_table"),
        ("prompt_vocab_size", "prompt_vocab_size"),
        ("stop_words_list", "_STOP_WORDS_IDS"),
        ("bad_words_list", "_BAD_WORDS_IDS"),
        ("prompt_table_extra_ids", "_OUT_PROMPT_TABLE_EXTRA_IDS"),
        ("lora_task_id", "lora_task_id"),
        ("lora_weights", "lora_weights"),
        ("lora_config", "lora_config"),
        ("guided_decoding_guide_type", "guided_decoding_guide_type"),
        ("guided_decoding_guide", "guided_decoding_guide"),
    ),
    output_map=(
        ("output_ids", "_TOKENS_BATCH"),
        ("sequence_length", "_SEQUENCE_LENGTH"),
        ("cum_log_probs", "cum_log_probs"),
        ("output_log_probs", "output_log_probs"),
        ("context_logits", "context_logits"),
        ("generation_logits", "generation_logits"),
        ("batch_index", "batch_index"),
        ("sequence_index", "sequence_index"),
        ("kv_cache_alloc_new_blocks", "kv_cache_alloc_new_blocks"),
        ("kv_cache_reused_blocks", "kv_cache_reused_blocks"),
        ("kv_cache_alloc_total_blocks", "kv_cache_alloc_total_blocks"),
        ("arrival_time_ns", "arrival_time_ns"),
        ("first_scheduled_time_ns", "first_scheduled_time_ns"),
        ("first_token_time_ns", "first_token_time_ns"),
        ("last_token_time_ns", "last_token_time_ns"),
        ("acceptance_rate", "acceptance_rate"),
        ("total_accepted_draft_tokens", "total_accepted_draft_tokens"),
        ("total_draft_tokens", "total_draft_tokens"),
        ("num_input_tokens", "num_input_tokens"),
        ("num_output_tokens", "num_output_tokens"),
    ),
)

_POSTPROCESSING_STEP = StepMap(
    model_name="postprocessing",
    input_map=(
        ("TOKENS_BATCH", "_TOKENS_BATCH"),
        ("SEQUENCE_LENGTH", "_SEQUENCE_LENGTH"),
    ),
    output_map=(("OUTPUT", "text_output"),),
)

ENSEMBLE_STEPS: tuple[StepMap, ...] = (
    _PREPROCESSING_STEP,
    _TENSORRT_LLM_STEP,
    _POSTPROCESSING_STEP,
)

STEP_MODEL_TENSORS: Mapping[str, tuple[tuple[Tensor, ...], tuple[Tensor, ...]]] = {
    "preprocessing": (PREPROCESSING_INPUTS, PREPROCESSING_OUTPUTS),
    "tensorrt_llm": (TENSORRT_LLM_INPUTS, TENSORRT_LLM_OUTPUTS),
    "postprocessing": (POSTPROCESSING_INPUTS, POSTPROCESSING_OUTPUTS),
}
"""Per ensemble step model: (inputs, outputs)."""

# --------------------------------------------------------------------------------------------
# tensorrt_llm_bls (Python backend; alternative entry point with the ensemble's client API)
# --------------------------------------------------------------------------------------------

BLS_INPUTS: tuple[Tensor, ...] = (
    Tensor("text_input", "TYPE_STRING", (1,)),
    Tensor("decoder_text_input", "TYPE_STRING", (1,), optional=True, feature=ENCDEC),
    Tensor("image_input", "TYPE_FP16", (-1, 3, -1, -1), optional=True, feature=MULTIMODAL),
    Tensor(
        "image_bytes_input",
        "TYPE_UINT8",
        (-1, -1, -1, -1),
        optional=True,
        feature=MULTIMODAL,
    ),
    Tensor("image_url_input", "TYPE_STRING", (1,), optional=True, feature=MULTIMODAL),
    Tensor("image_sizes_input", "TYPE_INT64", (-1, 2), optional=True, feature=MULTIMODAL),
    Tensor(
        "video_bytes_input",
        "TYPE_UINT8",
        (-1, -1, -1, -1),
        optional=True,
        feature=MULTIMODAL,
    ),
    Tensor("max_tokens", "TYPE_INT32", (1,)),
    Tensor("bad_words", "TYPE_STRING", (-1,), optional=True),
    Tensor("stop_words", "TYPE_STRING", (-1,), optional=True),
    Tensor("exclude_input_in_output", "TYPE_BOOL", (1,), optional=True),
    Tensor("end_id", "TYPE_INT32", (1,), optional=True),
    Tensor("pad_id", "TYPE_INT32", (1,), optional=True),
    Tensor("top_k", "TYPE_INT32", (1,), optional=True),
    Tensor("top_p", "TYPE_FP32", (1,), optional=True),
    Tensor("temperature", "TYPE_FP32", (1,), optional=True),
    Tensor("length_penalty", "TYPE_FP32", (1,), optional=True),
    Tensor("repetition_penalty", "TYPE_FP32", (1,), optional=True),
    Tensor("min_tokens", "TYPE_INT32", (1,), optional=True),
    Tensor("presence_penalty", "TYPE_FP32", (1,), optional=True),
    Tensor("frequency_penalty", "TYPE_FP32", (1,), optional=True),
    Tensor("seed", "TYPE_UINT64", (1,), optional=True),
    Tensor("return_log_probs", "TYPE_BOOL", (1,), optional=True, reshape=SCALAR),
    Tensor("return_context_logits", "TYPE_BOOL", (1,), optional=True, reshape=SCALAR),
    Tensor("return_generation_logits", "TYPE_BOOL", (1,), optional=True, reshape=SCALAR),
    Tensor("num_return_sequences", "TYPE_INT32", (1,), optional=True, reshape=SCALAR),
    Tensor("beam_width", "TYPE_INT32", (1,), optional=True),
    Tensor("stream", "TYPE_BOOL", (1,), optional=True),
    Tensor(
        "prompt_embedding_table",
        PROMPT_EMBEDDING_TABLE_DATATYPE,
        (-1, -1),
        optional=True,
        feature=MULTIMODAL,
    ),
    Tensor("prompt_vocab_size", "TYPE_INT32", (1,), optional=True, feature=MULTIMODAL),
    Tensor("prompt_table_extra_id", "TYPE_UINT64", (1,), optional=True, feature=MULTIMODAL),
    Tensor("embedding_bias_words", "TYPE_STRING", (-1,), optional=True),
    Tensor("embedding_bias_weights", "TYPE_FP32", (-1,), optional=True),
    Tensor("num_draft_tokens", "TYPE_INT32", (1,), optional=True, feature=SPECULATIVE),
    Tensor(
        "use_draft_logits",
        "TYPE_BOOL",
        (1,),
        optional=True,
        reshape=SCALAR,
        feature=SPECULATIVE,
    ),
    Tensor("lora_task_id", "TYPE_UINT64", (1,), optional=True, reshape=SCALAR, feature=LORA),
    Tensor(
        "lora_weights",
        "TYPE_FP16",
        (-1, -1),
        optional=True,
        allow_ragged_batch=True,
        feature=LORA,
    ),
    Tensor(
        "lora_config",
        "TYPE_INT32",
        (-1, 3),
        optional=True,
        allow_ragged_batch=True,
        feature=LORA,
    ),
    Tensor("return_perf_metrics", "TYPE_BOOL", (1,), optional=True, reshape=SCALAR),
    Tensor("return_num_input_tokens", "TYPE_BOOL", (1,), optional=True, reshape=SCALAR),
    Tensor("return_num_output_tokens", "TYPE_BOOL", (1,), optional=True, reshape=SCALAR),
    Tensor("guided_decoding_guide_type", "TYPE_STRING", (1,), optional=True, feature=GUIDED),
    Tensor("guided_decoding_guide", "TYPE_STRING", (1,), optional=True, feature=GUIDED),
)

BLS_OUTPUTS: tuple[Tensor, ...] = ENSEMBLE_OUTPUTS


def steps_without_features(keep: frozenset[str] = frozenset()) -> tuple[StepMap, ...]:
    """ENSEMBLE_STEPS with every mapping whose tensor is dropped by ``without_features`` removed.

    A mapping goes when the step model's tensor (the key) is dropped, or when the ensemble
    tensor (the value) is a client-facing ensemble input/output that is dropped, or when it is
    an internal tensor whose producing output was dropped in an earlier step.
    """
    ens_in = by_name(ENSEMBLE_INPUTS)
    ens_out = by_name(ENSEMBLE_OUTPUTS)
    kept_in = by_name(without_features(ENSEMBLE_INPUTS, keep))
    kept_out = by_name(without_features(ENSEMBLE_OUTPUTS, keep))
    dropped_internal: set[str] = set()
    steps: list[StepMap] = []
    for step in ENSEMBLE_STEPS:
        model_in, model_out = STEP_MODEL_TENSORS[step.model_name]
        keep_model_in = by_name(without_features(model_in, keep))
        keep_model_out = by_name(without_features(model_out, keep))
        inputs: list[tuple[str, str]] = []
        for key, value in step.input_map:
            if key not in keep_model_in or value in dropped_internal:
                continue
            if value in ens_in and value not in kept_in:
                continue
            inputs.append((key, value))
        outputs: list[tuple[str, str]] = []
        for key, value in step.output_map:
            gone = key not in keep_model_out or (value in ens_out and value not in kept_out)
            if gone:
                if value not in ens_out:
                    dropped_internal.add(value)
                continue
            outputs.append((key, value))
        steps.append(StepMap(step.model_name, tuple(inputs), tuple(outputs)))
    # An internal tensor nobody consumes any more is not produced either.
    consumed = {value for step in steps for _, value in step.input_map}
    return tuple(
        StepMap(
            step.model_name,
            step.input_map,
            tuple((k, v) for k, v in step.output_map if v in ens_out or v in consumed),
        )
        for step in steps
    )
