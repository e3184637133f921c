"""The string parameters the `tensorrt_llm` model reads from its config.pbtxt.

Names and defaults: tensorrtllm_backend `inflight_batcher_llm/src/model_instance_state.cc`
(c2e65b8) and TensorRT-LLM `triton_backend` (0c8de69). Every value travels as a
``string_value``; the backend parses it and falls back to its own default when parsing fails,
which is why a leftover ``${var}`` silently means "default" rather than an error.
"""

from __future__ import annotations

# Parameters the spec models as first-class fields (so they are typed and documented there).
MODELLED = frozenset(
    {
        "gpt_model_type",
        "gpt_model_path",
        "batch_scheduler_policy",
        "kv_cache_free_gpu_mem_fraction",
        "max_tokens_in_paged_kv_cache",
        "enable_chunked_context",
        "enable_kv_cache_reuse",
        "exclude_input_in_output",
        "gpu_device_ids",
    }
)

# Every other parameter the backend understands; the spec passes these through `parameters:`.
OTHER = frozenset(
    {
        "FORCE_CPU_ONLY_INPUT_TENSORS",
        "encoder_model_path",
        "kv_cache_host_memory_bytes",
        "kv_cache_onboard_blocks",
        "cross_kv_cache_fraction",
        "max_attention_window_size",
        "sink_token_length",
        "max_beam_width",
        "normalize_log_probs",
        "cancellation_check_period_ms",
        "stats_check_period_ms",
        "iter_stats_max_iterations",
        "request_stats_max_iterations",
        "decoding_mode",
        "multi_block_mode",
        "enable_context_fmha_fp32_acc",
        "cuda_graph_mode",
        "cuda_graph_cache_size",
        "enable_trt_overlap",
        "participant_ids",
        "num_nodes",
        "recv_poll_period_ms",
        "gpu_weights_percent",
        "lora_cache_optimal_adapter_size",
        "lora_cache_max_adapter_size",
        "lora_cache_gpu_memory_fraction",
        "lora_cache_host_memory_bytes",
        "lora_prefetch_dir",
        "medusa_choices",
        "eagle_choices",
        "lookahead_window_size",
        "lookahead_ngram_size",
        "lookahead_verification_set_size",
        "speculative_decoding_fast_logits",
        "guided_decoding_backend",
        "xgrammar_tokenizer_info_path",
        "tokenizer_dir",
        "executor_worker_path",
    }
)

KNOWN = MODELLED | OTHER

# gpt_model_type values the backend accepts; others fail the load ("Invalid gpt_model_type").
BATCHING_STRATEGIES = ("inflight_fused_batching", "inflight_batching", "V1", "v1")

BATCH_SCHEDULER_POLICIES = ("max_utilization", "guaranteed_no_evict")

DECODING_MODES = (
    "top_k",
    "top_p",
    "top_k_top_p",
    "beam_search",
    "medusa",
    "redrafter",
    "lookahead",
    "eagle",
)

# Values the backend's bool parser accepts; anything else falls back to the default.
BOOL_STRINGS = ("True", "true", "TRUE", "1", "False", "false", "FALSE", "0")
