"""Triton python-backend model `preprocessing`: text in, token ids out (rendered by crossfade).

It runs inside Triton's python stub, never inside crossfade. It tokenizes QUERY with the Hugging
Face tokenizer found at the `tokenizer_dir` parameter and produces what the `tensorrt_llm` model
expects: INPUT_ID and REQUEST_INPUT_LEN, the stop/bad word lists in the engine's [2, -1] layout
(row 0 the flat ids, row 1 the cumulative end offsets padded with -1), an optional embedding
bias, and END_ID/PAD_ID defaulted from the tokenizer (a client's `end_id = -1`, "never stop on
EOS", passes through untouched).

Outputs of features this model does not implement (multimodal, encoder-decoder) are omitted:
they are optional inputs of the engine, and the ensemble runs a step without an optional input
that an earlier step did not produce.
"""

from __future__ import annotations

import json
import locale
from typing import Any

import numpy as np
import numpy.typing as npt
import triton_python_backend_utils as pb_utils

IntArray = npt.NDArray[np.int32]

# The outputs this model produces; any other declared output belongs to an unsupported feature.
CORE_OUTPUTS = (
    "INPUT_ID",
    "REQUEST_INPUT_LEN",
    "BAD_WORDS_IDS",
    "STOP_WORDS_IDS",
    "EMBEDDING_BIAS",
    "REQUEST_OUTPUT_LEN",
    "OUT_END_ID",
    "OUT_PAD_ID",
)


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


def _texts(request: Any, name: str) -> list[list[str]] | None:
    """A BYTES input as one list of strings per batch row, or None when absent."""
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return None
    array = tensor.as_numpy()
    array = array.reshape(array.shape[0], -1)
    return [[v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in row] for row in array]


def _ints(request: Any, name: str) -> IntArray | None:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return None
    array: IntArray = tensor.as_numpy().astype(np.int32)
    return array.reshape(array.shape[0], -1)


class TritonPythonModel:
    """Tokenizer front of the TensorRT-LLM ensemble and BLS."""

    def initialize(self, args: dict[str, str]) -> None:
        # The stub does not set the locale; transformers/torch need UTF-8 when they import.
        locale.setlocale(locale.LC_ALL, "")
        from transformers import AutoTokenizer

        config: dict[str, Any] = json.loads(args["model_config"])
        tokenizer_dir = _parameter(config, "tokenizer_dir")
        if tokenizer_dir is None:
            raise ValueError("preprocessing needs the tokenizer_dir parameter")
        self.add_special_tokens = _flag(config, "add_special_tokens", True)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(tokenizer_dir)
        eos = self.tokenizer.eos_token_id
        self.end_id: int = int(eos) if eos is not None else 0
        pad = self.tokenizer.pad_token_id
        self.pad_id: int = int(pad) if pad is not None else self.end_id
        self.vocab_size: int = len(self.tokenizer)
        declared = {o["name"]: o["data_type"] for o in config.get("output", [])}
        self.outputs = [name for name in CORE_OUTPUTS if name in declared]
        self.dtypes = {name: pb_utils.triton_string_to_numpy(declared[name]) for name in declared}

    def execute(self, requests: list[Any]) -> list[Any]:
        responses = []
        for request in requests:
            try:
                tensors = self._process(request)
                responses.append(
                    pb_utils.InferenceResponse(
                        output_tensors=[
                            pb_utils.Tensor(name, tensors[name].astype(self.dtypes[name]))
                            for name in self.outputs
                        ]
                    )
                )
            except Exception as exc:  # reported in-band, the instance keeps serving
                responses.append(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError(f"preprocessing: {exc}"))
                )
        return responses

    def _process(self, request: Any) -> dict[str, npt.NDArray[Any]]:
        queries = _texts(request, "QUERY")
        if queries is None:
            raise ValueError("QUERY is required")
        batch = len(queries)
        ids = [self._encode(row[0], self.add_special_tokens) for row in queries]
        lengths = np.array([[len(row)] for row in ids], dtype=np.int32)
        # Rows of a batch are right-padded to the longest; the lengths say where each ends.
        width = max(len(row) for row in ids)
        input_ids = np.full((batch, width), self.pad_id, dtype=np.int32)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
        output_len = _ints(request, "REQUEST_OUTPUT_LEN")
        if output_len is None:
            raise ValueError("REQUEST_OUTPUT_LEN is required")
        return {
            "INPUT_ID": input_ids,
            "REQUEST_INPUT_LEN": lengths,
            "BAD_WORDS_IDS": self._word_lists(_texts(request, "BAD_WORDS_DICT"), batch),
            "STOP_WORDS_IDS": self._word_lists(_texts(request, "STOP_WORDS_DICT"), batch),
            "EMBEDDING_BIAS": self._embedding_bias(request, batch),
            "REQUEST_OUTPUT_LEN": output_len,
            "OUT_END_ID": self._id_or(request, "END_ID", self.end_id, batch),
            "OUT_PAD_ID": self._id_or(request, "PAD_ID", self.pad_id, batch),
        }

    def _encode(self, text: str, special: bool) -> list[int]:
        return [int(i) for i in self.tokenizer.encode(text, add_special_tokens=special)]

    @staticmethod
    def _id_or(request: Any, name: str, default: int, batch: int) -> IntArray:
        given = _ints(request, name)
        if given is None:
            return np.full((batch, 1), default, dtype=np.int32)
        return given[:, :1]

    def _word_lists(self, words: list[list[str]] | None, batch: int) -> IntArray:
        """Each row's words as [2, L]: flat ids, then cumulative end offsets padded with -1.

        No words gives [batch, 2, 0], which the engine reads as "no list".
        """
        rows: list[tuple[list[int], list[int]]] = []
        for i in range(batch):
            flat: list[int] = []
            offsets: list[int] = []
            for word in words[i] if words is not None else []:
                if not word:
                    continue
                # Words are matched as token sequences, so no BOS/EOS around them.
                flat.extend(self._encode(word, False))
                offsets.append(len(flat))
            rows.append((flat, offsets))
        width = max((len(flat) for flat, _ in rows), default=0)
        out = np.zeros((batch, 2, width), dtype=np.int32)
        out[:, 1, :] = -1
        for i, (flat, offsets) in enumerate(rows):
            out[i, 0, : len(flat)] = flat
            out[i, 1, : len(offsets)] = offsets
        return out

    def _embedding_bias(self, request: Any, batch: int) -> npt.NDArray[np.float32]:
        """A vocabulary-sized bias per row from the words and weights, or [batch, 0] without."""
        words = _texts(request, "EMBEDDING_BIAS_WORDS")
        tensor = pb_utils.get_input_tensor_by_name(request, "EMBEDDING_BIAS_WEIGHTS")
        if words is None or tensor is None:
            return np.zeros((batch, 0), dtype=np.float32)
        weights = tensor.as_numpy().astype(np.float32).reshape(batch, -1)
        bias = np.zeros((batch, self.vocab_size), dtype=np.float32)
        for i in range(batch):
            if len(words[i]) != len(weights[i]):
                raise ValueError("embedding_bias_words and embedding_bias_weights differ in length")
            for word, weight in zip(words[i], weights[i], strict=True):
                for token in self._encode(word, False):
                    bias[i, token] += weight
        return bias

    def finalize(self) -> None:
        self.tokenizer = None
