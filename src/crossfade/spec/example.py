"""The commented example spec that `crossfade init` writes (validated by a test)."""

EXAMPLE_SPEC = """\
# crossfade spec: one model, and how each Triton LLM backend serves it.
# Render both model repositories:  crossfade render triton crossfade.yaml -o model_repos
# Check them:                      crossfade lint model_repos
version: 1

model:
  name: my-model                    # short name; used in names crossfade makes
  served_name: org/my-model         # what clients ask for (OpenAI "model"); default: name
  tokenizer: /models/my-model       # folder with the Hugging Face tokenizer files

gpu: H100                           # target GPU; engine checks (legacy layout) compare it

tensorrtllm:                        # remove this section to serve with vLLM only
  layout: llmapi                    # the LLM API model (the default): one model, tensorrt_llm,
                                    # that loads the Hugging Face checkpoint; no engine build
  image: 26.07-trtllm-python-py3    # Triton container tag; fixes the TensorRT-LLM version
  decoupled: true                   # triton_config.decoupled: required for streaming
  # cancellation_check_period_ms: 100
  llm_args:                         # 1/model.yaml: tensorrt_llm.LLM() arguments, checked by name
    model: /models/my-model         # Hugging Face checkpoint folder (or a hub id); a
                                    # pre-quantized one (e.g. ModelOpt FP8) carries its own
                                    # quantization
    tensor_parallel_size: 1         # GPUs per instance: tensor x pipeline parallel size
    kv_cache_config:
      free_gpu_memory_fraction: 0.9 # share of GPU memory left after the weights
      enable_block_reuse: true
    max_batch_size: 64
    max_num_tokens: 8192
  # instance_count: 2               # more than one instance needs one GPU list each
  # gpu_device_ids: [[0], [1]]
  # model_files: /app/all_models/llmapi/tensorrt_llm/1   # model.py and helpers.py in the image

# The legacy layout, instead of the section above: the in-flight batching ensemble around a
# TensorRT engine. TensorRT-LLM removed engines, trtllm-build and this ensemble after 1.3.0rc20;
# keep it for engines you already serve (docs/tensorrt-llm.md says how to move off it).
# tensorrtllm:
#   layout: engine
#   image: 25.12-trtllm-python-py3  # a container whose TensorRT-LLM still loads engines
#   engine_dir: /engines/my-model/tp1   # engine folder as the server sees it
#   triton_max_batch_size: 64
#   decoupled: true
#   batching_strategy: inflight_fused_batching
#   batch_scheduler_policy: max_utilization   # or guaranteed_no_evict (the backend default)
#   kv_cache_free_gpu_mem_fraction: 0.9
#   enable_chunked_context: true    # needs an engine built with use_paged_context_fmha
#   enable_kv_cache_reuse: true
#   exclude_input_in_output: true   # no prompt echo in answers
#   instances: {preprocessing: 4, postprocessing: 4, bls: 64}
#   accumulate_tokens: true         # BLS streams whole words and valid UTF-8

vllm:                               # remove this section to serve with TensorRT-LLM only
  image: 25.12-vllm-python-py3
  engine_args:                      # model.json: vLLM AsyncEngineArgs, checked by name
    model: /models/my-model
    gpu_memory_utilization: 0.9
    tensor_parallel_size: 1
    max_model_len: 8192
    max_num_seqs: 64
    enable_chunked_prefill: true
  report_custom_metrics: true       # vllm:* metrics on Triton's metrics port
  # lora_adapters:                  # multi-LoRA: adapter name -> folder
  #   sql: /loras/sql

# kubernetes:                       # crossfade render k8s crossfade.yaml -o k8s
#   namespace: llm
#   triton_image: registry.example/nvidia/tritonserver   # completed by the image tags above
#   crossfade_image: registry.example/crossfade:0.1.0   # runs bench pods and engine stamps
#   image_pull_secrets: [ngc-registry]
#   storage:                        # existing PersistentVolumeClaims
#     weights: {claim: llm-weights, mount_path: /models}    # checkpoints and tokenizers
#     # engines: {claim: llm-engines, mount_path: /engines} # legacy layout: the engines
#     results: {claim: bench-results, mount_path: /results} # ReadWriteMany, for bench shards
#   tensorrtllm:                    # and the same keys under vllm:
#     replicas: 2
#     gpus: 1                       # = tensor x pipeline parallel size (x instance_count)
#     gpu_product: NVIDIA-H100-80GB-HBM3   # node label nvidia.com/gpu.product
#     tolerations:
#       - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
#     cpu: "8"
#     memory: 64Gi
#     # shm_size: 4Gi               # /dev/shm for the python backend; default sized from instances
#   # engine_build:                 # legacy layout only: a Job running trtllm-build, then
#   #   checkpoint_dir: /models/my-model-trtllm-checkpoint/tp1    # crossfade engine stamp
#   #   build_args: [--gemm_plugin=auto, --use_paged_context_fmha=enable]
#   monitoring: {kind: PodMonitor, labels: {release: prometheus}}   # or ServiceMonitor
#   traffic:
#     router: istio                 # VirtualService + DestinationRule; or gateway-api (HTTPRoute)
#     weights: {tensorrtllm: 90, vllm: 10}
#     timeout_s: 600
#     retries: {attempts: 2}        # connect failures only, before any byte of the answer
#     failover: true                # istio: vLLM pods take over when no TensorRT-LLM pod is healthy
#     # gateway: {name: inference-gateway, namespace: gateway}   # required for gateway-api
#   bench:                          # the distributed benchmark Job, one per backend
#     pods: 4
#     concurrency: 64               # totals; each pod runs its share
#     requests: 2000

# deployment:                       # facts `crossfade advise crossfade.yaml` decides from;
#                                   # leave out what you do not know: advise names what matters
#   tensorrtllm_runs_engines: false # true while TensorRT-LLM engines (the legacy ensemble) serve
#   model_support: both             # backends that support the model: both, vllm_only or
#                                   # tensorrtllm_only
#   quantization: none              # as the checkpoint carries it: none, fp8, nvfp4, awq or gptq
#   ttft_p99_target_ms: 500
#   itl_p99_target_ms: 50
#   expected_concurrency: 64        # requests in flight at the expected peak
"""
