"""Each backend API's dialect as one object: a neutral `GenerationRequest` in, its path and
payload (or gRPC tensors) out, and each server response back to one neutral `ParsedEvent`. Pure,
no I/O, so the bench clients and the router speak every backend through the same objects.

- `base`: `GenerationRequest`, `ParsedEvent`, the `Dialect` interface, what every API shares.
- `triton_vllm`: Triton's vLLM backend; `triton_trtllm`: a TensorRT-LLM ensemble or BLS;
  `triton_llmapi`: TensorRT-LLM's LLM API model (all three on `triton`'s generate paths and gRPC
  tensors); `openai`: OpenAI-compatible completions and chat.

Every request asks for the server's token counts where the API has them (`return_num_*_tokens`,
OpenAI usage with `continuous_usage_stats`) so that lengths are verified and chunks counted
without a tokenizer. The LLM API model has none, and cannot be asked for an exact length
(`forces_length`, `counts_tokens`): its lengths are counted after the run (`bench.lengths`).
The router sends its clients' requests through the same objects: `exact_length=False` makes
`max_tokens` a cap, extra sampling travels by vLLM's names (`PORTABLE_SAMPLING`), and chat
messages reach a chat endpoint whole, or other backends as one prompt (`chat_prompt`).

A target URL's scheme names its dialect (`bench.targets.SCHEMES`); a new backend API is one new
`Dialect` here, its scheme there, and its tests.
"""
