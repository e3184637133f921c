"""Triton python-backend model `postprocessing`: token ids in, text out (rendered by crossfade).

It runs inside Triton's python stub, never inside crossfade. TOKENS_BATCH is
[batch, beam, tokens] and SEQUENCE_LENGTH [batch, beam]; each beam's first SEQUENCE_LENGTH
tokens are decoded with the Hugging Face tokenizer at the `tokenizer_dir` parameter
(`skip_special_tokens`, default true) into OUTPUT [batch, beam].

Like upstream, every request is decoded on its own: inside the ensemble a streamed response
holds only the new tokens, so spaces and multi-byte characters split across responses can be
lost. The BLS with `accumulate_tokens` avoids that by sending all tokens so far.
"""

from __future__ import annotations

import json
import locale
from typing import Any

import numpy as np
import numpy.typing as npt
import triton_python_backend_utils as pb_utils


def _parameter(config: dict[str, Any], key: str) -> str | None:
    """A string parameter, or None when absent, empty or a leftover `${var}` placeholder."""
    value = config.get("parameters", {}).get(key, {}).get("string_value")
    if not isinstance(value, str) or not value.strip() or value.startswith("${"):
        return None
    return value.strip()


def _flag(config: dict[str, Any], key: str, default: bool) -> bool:
    value = _parameter(config, key)
    if value is None:
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ValueError(f"parameter {key} must be true or false, got {value!r}")


class TritonPythonModel:
    """Detokenizer behind the TensorRT-LLM engine in the ensemble and the BLS."""

    def initialize(self, args: dict[str, str]) -> None:
        # The stub does not set the locale; transformers/torch need UTF-8 when they import.
        locale.setlocale(locale.LC_ALL, "")
        from transformers import AutoTokenizer

        config: dict[str, Any] = json.loads(args["model_config"])
        tokenizer_dir = _parameter(config, "tokenizer_dir")
        if tokenizer_dir is None:
            raise ValueError("postprocessing needs the tokenizer_dir parameter")
        self.skip_special_tokens = _flag(config, "skip_special_tokens", True)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(tokenizer_dir)
        output = pb_utils.get_output_config_by_name(config, "OUTPUT")
        self.output_dtype: Any = pb_utils.triton_string_to_numpy(output["data_type"])

    def execute(self, requests: list[Any]) -> list[Any]:
        responses = []
        for request in requests:
            try:
                texts = self._decode(request)
                tensor = pb_utils.Tensor("OUTPUT", texts.astype(self.output_dtype))
                responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
            except Exception as exc:  # reported in-band, the instance keeps serving
                responses.append(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError(f"postprocessing: {exc}"))
                )
        return responses

    def _decode(self, request: Any) -> npt.NDArray[np.object_]:
        tokens_tensor = pb_utils.get_input_tensor_by_name(request, "TOKENS_BATCH")
        if tokens_tensor is None:
            raise ValueError("TOKENS_BATCH is required")
        tokens = tokens_tensor.as_numpy()
        if tokens.ndim == 2:  # a single beam sent without its beam axis
            tokens = tokens[:, np.newaxis, :]
        if tokens.ndim != 3:
            raise ValueError(f"TOKENS_BATCH must be [batch, beam, tokens], got {tokens.shape}")
        batch, beams, width = tokens.shape
        lengths_tensor = pb_utils.get_input_tensor_by_name(request, "SEQUENCE_LENGTH")
        if lengths_tensor is None:
            lengths = np.full((batch, beams), width, dtype=np.int64)
        else:
            lengths = lengths_tensor.as_numpy().astype(np.int64).reshape(batch, beams)
        sequences = [
            [int(t) for t in tokens[b, k, : max(0, min(int(lengths[b, k]), width))]]
            for b in range(batch)
            for k in range(beams)
        ]
        texts = self.tokenizer.batch_decode(sequences, skip_special_tokens=self.skip_special_tokens)
        # Strings go out as UTF-8 bytes, one per beam.
        out = np.empty((batch, beams), dtype=np.object_)
        for i, text in enumerate(texts):
            out[i // beams, i % beams] = text.encode("utf-8")
        return out

    def finalize(self) -> None:
        self.tokenizer = None
