"""Input/output tensors of every Triton model crossfade renders, and the ensemble wiring.

Pure data. Names, data types, dims, ``optional``, ``reshape`` and ``allow_ragged_batch`` were
checked against these upstream files (``$``-template data types are kept as markers):

- NVIDIA/TensorRT-LLM ``triton_backend/all_models/inflight_batcher_llm``:
  ``tensorrt_llm/config.pbtxt`` @ 0c8de69a1ca6213eebb20a51873890ff128666c2 (same I/O
  as @ 2a9abd9),
  ``ensemble/config.pbtxt`` @ 2a9abd9536aa62ad3e4b9314be9286b1b1be523b,
  ``preprocessing/config.pbtxt`` @ 808059da341493bbf8deb9380aef745e4f546909,
  ``postprocessing/config.pbtxt`` @ 89fd9b74ab7ae753b4c6b3db25a400dca7ea54a0,
  ``tensorrt_llm_bls/config.pbtxt`` @ bff88ea886779f832686acb3f165e2b919c95b77.
- NVIDIA/TensorRT-LLM ``triton_backend/all_models/llmapi/tensorrt_llm/config.pbtxt``
  @ 0a71057313ec0626527e164a8fc0205c5822e2f5 (the LLM API model: ``trtllm_llmapi.py``).
- triton-inference-server/vllm_backend ``src/model.py`` (``_auto_complete_inputs_and_outputs``)
  @ 00ea75bc67f48ad7c6283b1983620e1dbb1a9cfe; ``docs/additional_outputs.md`` @ 00aa413.

Facts worth knowing when reading the tables:

- ``input_ids`` of ``tensorrt_llm`` is declared ``optional: true`` upstream (encoder-only
  requests may send ``encoder_input_features`` instead); only ``input_lengths`` and
  ``request_output_len`` are required there. Decoder-only models need ``input_ids`` anyway.
- Upstream's ensemble lists the output ``kv_cache_alloc_total_blocks`` twice; it appears
  once here.
- The ensemble declares ``prompt_embedding_table`` as a fixed ``TYPE_FP16`` (the ensemble
  template has no ``prompt_embedding_table_data_type`` variable), while ``tensorrt_llm`` and
  ``tensorrt_llm_bls`` use the template variable.
- ``feature`` tags a tensor that only matters for one feature group (see ``FEATURES``);
  ``None`` is core text generation. Tags are semantic: the Python models may still emit a
  tagged output (e.g. preprocessing always produces ``DECODER_INPUT_ID``).
"""

from __future__ import annotations

from crossfade.render.tensors.base import (
    DATATYPE_MARKERS,
    ENCDEC,
    ENCODER_INPUT_FEATURES_DATATYPE,
    FEATURES,
    GUIDED,
    LOGITS_DATATYPE,
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
    TENSORRT_LLM_INPUTS,
    TENSORRT_LLM_OUTPUTS,
)
from crossfade.render.tensors.trtllm_llmapi import (
    LLMAPI_INPUTS,
    LLMAPI_OUTPUTS,
    PERF_TIMESTAMPS,
    SAMPLING_PARAMS,
)
from crossfade.render.tensors.trtllm_pipeline import (
    BLS_INPUTS,
    BLS_OUTPUTS,
    ENSEMBLE_INPUTS,
    ENSEMBLE_OUTPUTS,
    ENSEMBLE_STEPS,
    POSTPROCESSING_INPUTS,
    POSTPROCESSING_OUTPUTS,
    PREPROCESSING_INPUTS,
    PREPROCESSING_OUTPUTS,
    STEP_MODEL_TENSORS,
    steps_without_features,
)
from crossfade.render.tensors.vllm import (
    VLLM_INPUTS,
    VLLM_OUTPUTS,
)

__all__ = [
    "BLS_INPUTS",
    "BLS_OUTPUTS",
    "DATATYPE_MARKERS",
    "ENCDEC",
    "ENCODER_INPUT_FEATURES_DATATYPE",
    "ENSEMBLE_INPUTS",
    "ENSEMBLE_OUTPUTS",
    "ENSEMBLE_STEPS",
    "FEATURES",
    "GUIDED",
    "LLMAPI_INPUTS",
    "LLMAPI_OUTPUTS",
    "LOGITS_DATATYPE",
    "LORA",
    "MULTIMODAL",
    "PERF_TIMESTAMPS",
    "POSTPROCESSING_INPUTS",
    "POSTPROCESSING_OUTPUTS",
    "PREPROCESSING_INPUTS",
    "PREPROCESSING_OUTPUTS",
    "PROMPT_EMBEDDING_TABLE_DATATYPE",
    "SAMPLING_PARAMS",
    "SCALAR",
    "SPECULATIVE",
    "STEP_MODEL_TENSORS",
    "TENSORRT_LLM_INPUTS",
    "TENSORRT_LLM_OUTPUTS",
    "VLLM_INPUTS",
    "VLLM_OUTPUTS",
    "StepMap",
    "Tensor",
    "by_name",
    "steps_without_features",
    "without_features",
]
