"""Keyword arguments of `tensorrt_llm.LLM` (PyTorch backend) in one TensorRT-LLM release.
PROVISIONAL: hand-listed until scripts/gen_llmapi_args.py regenerates it from upstream."""

TRTLLM_VERSION = "provisional"
SOURCE = "NVIDIA/TensorRT-LLM tensorrt_llm/llmapi/llm_args.py (TorchLlmArgs)"

LLM_ARGS = frozenset(
    {
        "backend",
        "cuda_graph_config",
        "disable_overlap_scheduler",
        "dtype",
        "enable_attention_dp",
        "enable_chunked_prefill",
        "gpus_per_node",
        "kv_cache_config",
        "max_batch_size",
        "max_beam_width",
        "max_input_len",
        "max_num_tokens",
        "max_seq_len",
        "model",
        "moe_expert_parallel_size",
        "pipeline_parallel_size",
        "scheduler_config",
        "speculative_config",
        "tensor_parallel_size",
        "tokenizer",
        "trust_remote_code",
    }
)

KV_CACHE_CONFIG_ARGS = frozenset(
    {
        "enable_block_reuse",
        "free_gpu_memory_fraction",
        "max_tokens",
    }
)
