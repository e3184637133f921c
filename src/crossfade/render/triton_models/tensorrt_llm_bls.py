"""Triton python-backend model `tensorrt_llm_bls`: the ensemble's client API as one python model.

It runs inside Triton's python stub, never inside crossfade. Each request is served on its own
thread (execute() never blocks, so one instance serves many concurrent requests) by three
business-logic-scripting calls: `preprocessing` (tokenize), the engine model named by the
`tensorrt_llm_model_name` parameter (streamed when the model is decoupled), and
`postprocessing` (detokenize). With `accumulate_tokens` true every streamed step decodes all
tokens so far and sends only the new text, holding back a trailing incomplete UTF-8 character,
so the streamed pieces join to the non-streamed text. Engine errors come back in-band.

Differences from upstream's BLS: one sequence per request (batch size 1); no draft model or
multimodal encoders; stop words are not trimmed from the text; a client that goes away is
noticed within about 100 ms and its engine request is ended with a `stop` request. To keep up
under load, concurrent requests share batched postprocessing calls, and engine responses that
queued up while the previous piece was decoded are sent as one piece (num_output_tokens then
counts all of them), so a stream may have fewer responses than tokens.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
CANCEL_CHECK_S = 0.1  # is_cancelled() is a round trip to the server: poll it sparingly
DECODERS = 2  # postprocessing calls in flight at once: one is sent while another is collected

# Client input -> preprocessing input.
PRE_INPUTS = {
    "text_input": "QUERY",
    "max_tokens": "REQUEST_OUTPUT_LEN",
    "bad_words": "BAD_WORDS_DICT",
    "stop_words": "STOP_WORDS_DICT",
    "embedding_bias_words": "EMBEDDING_BIAS_WORDS",
    "embedding_bias_weights": "EMBEDDING_BIAS_WEIGHTS",
    "end_id": "END_ID",
    "pad_id": "PAD_ID",
}
# Preprocessing output -> engine input; empty word lists and bias are left out.
PRE_TO_ENGINE = {
    "INPUT_ID": "input_ids",
    "REQUEST_INPUT_LEN": "input_lengths",
    "REQUEST_OUTPUT_LEN": "request_output_len",
    "OUT_END_ID": "end_id",
    "OUT_PAD_ID": "pad_id",
    "STOP_WORDS_IDS": "stop_words_list",
    "BAD_WORDS_IDS": "bad_words_list",
    "EMBEDDING_BIAS": "embedding_bias",
}
# Client input -> engine input, passed as they are.
CLIENT_TO_ENGINE = {
    "exclude_input_in_output": "exclude_input_in_output",
    "top_k": "runtime_top_k",
    "top_p": "runtime_top_p",
    "temperature": "temperature",
    "length_penalty": "len_penalty",
    "repetition_penalty": "repetition_penalty",
    "min_tokens": "min_tokens",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "seed": "seed",
    "return_log_probs": "return_log_probs",
    "return_context_logits": "return_context_logits",
    "return_generation_logits": "return_generation_logits",
    "return_perf_metrics": "return_perf_metrics",
    "return_num_input_tokens": "return_num_input_tokens",
    "return_num_output_tokens": "return_num_output_tokens",
    "num_return_sequences": "num_return_sequences",
    "beam_width": "beam_width",
    "stream": "streaming",
    "prompt_embedding_table": "prompt_embedding_table",
    "prompt_vocab_size": "prompt_vocab_size",
    "lora_task_id": "lora_task_id",
    "lora_weights": "lora_weights",
    "lora_config": "lora_config",
    "guided_decoding_guide_type": "guided_decoding_guide_type",
    "guided_decoding_guide": "guided_decoding_guide",
}
# Engine inputs declared [1] (a scalar per sequence): sent as [batch, 1].
SCALAR_INPUTS = frozenset(CLIENT_TO_ENGINE.values()) - {
    "prompt_embedding_table",
    "lora_weights",
    "lora_config",
}
NOT_FORWARDED = frozenset({"text_output", "output_ids", "sequence_length"})

Sink = Callable[[Any, int], None]


def _parameter(config: dict[str, Any], key: str) -> str | None:
    """A string parameter, or None when absent, empty or a leftover `${var}` placeholder."""
    value = config.get("parameters", {}).get(key, {}).get("string_value")
    if not isinstance(value, str) or not value.strip() or value.startswith("${"):
        return None
    return value.strip()


def _error(message: str) -> Any:
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(message))


def _exec(request: Any) -> Any:
    """One non-streaming BLS call; its error becomes an exception."""
    response = request.exec()
    if response.has_error():
        raise RuntimeError(response.error().message())
    return response


class TritonPythonModel:
    """Client-facing TensorRT-LLM pipeline in one model (see the module docstring)."""

    def initialize(self, args: dict[str, str]) -> None:
        config: dict[str, Any] = json.loads(args["model_config"])
        self.decoupled: bool = pb_utils.using_decoupled_model_transaction_policy(config)
        accumulate = (_parameter(config, "accumulate_tokens") or "false").lower()
        self.accumulate = accumulate in ("true", "1")
        self.engine = _parameter(config, "tensorrt_llm_model_name") or "tensorrt_llm"
        self.outputs = {o["name"] for o in config.get("output", [])}
        forwarded = sorted(self.outputs - NOT_FORWARDED)
        self.engine_outputs = [*forwarded, "output_ids", "sequence_length"]
        self.ids = itertools.count()
        # Decodes are batched across requests, at most max_batch_size (the same for the BLS and
        # postprocessing in crossfade's rendering) at a time.
        self.decode_batch = max(1, int(config.get("max_batch_size", 0)))
        self.decode_queue: queue.SimpleQueue[list[Any] | None] = queue.SimpleQueue()
        self.decoders = [
            threading.Thread(target=self._decode_loop, name="bls-decode", daemon=True)
            for _ in range(DECODERS)
        ]
        for thread in self.decoders:
            thread.start()

    def execute(self, requests: list[Any]) -> list[Any] | None:
        if self.decoupled:
            for request in requests:
                sender = request.get_response_sender()
                threading.Thread(
                    target=self._serve, args=(request, sender, sender.send), daemon=True
                ).start()
            return None
        # Non-decoupled: one final response each; the batch's requests still run side by side.
        results: list[Any] = [None] * len(requests)

        def keep(index: int) -> Sink:
            def sink(response: Any, flags: int) -> None:
                if response is not None:
                    results[index] = response

            return sink

        threads = [
            threading.Thread(target=self._serve, args=(request, None, keep(i)), daemon=True)
            for i, request in enumerate(requests)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [r if r is not None else _error("no response") for r in results]

    def _serve(self, request: Any, sender: Any, sink: Sink) -> None:
        try:
            self._generate(request, sender, sink)
        except Exception as exc:  # in-band error; the model keeps serving
            try:
                sink(_error(str(exc)), FINAL)
            except Exception as late:  # e.g. the client has gone or the final flag was sent
                pb_utils.Logger.log_verbose(f"tensorrt_llm_bls: error not delivered: {late}")

    def _generate(self, request: Any, sender: Any, sink: Sink) -> None:
        text = pb_utils.get_input_tensor_by_name(request, "text_input")
        if text is None or text.as_numpy().shape[0] != 1:
            raise ValueError("tensorrt_llm_bls takes one text_input per request (batch size 1)")
        if pb_utils.get_input_tensor_by_name(request, "max_tokens") is None:
            raise ValueError("max_tokens is required")
        stream = self._flag(request, "stream")
        if stream and not self.decoupled:
            raise ValueError(
                "Streaming is only supported if model is deployed using decoupled mode."
            )
        preprocessed = _exec(
            pb_utils.InferenceRequest(
                model_name="preprocessing",
                inputs=self._inputs(request, PRE_INPUTS, frozenset()),
                requested_output_names=list(PRE_TO_ENGINE),
            )
        )
        inputs = self._inputs(request, CLIENT_TO_ENGINE, SCALAR_INPUTS)
        for tensor in preprocessed.output_tensors():
            array = tensor.as_numpy()
            if tensor.name() in PRE_TO_ENGINE and array.size > 0:
                inputs.append(pb_utils.Tensor(PRE_TO_ENGINE[tensor.name()], array))
        request_id = f"bls-{os.getpid()}-{next(self.ids)}"  # unique across BLS instances
        engine_request = pb_utils.InferenceRequest(
            model_name=self.engine,
            inputs=inputs,
            requested_output_names=self.engine_outputs,
            request_id=request_id,
        )
        responses = (
            engine_request.exec(decoupled=True) if self.decoupled else [_exec(engine_request)]
        )
        groups = self._groups(responses) if stream else ([r] for r in responses)
        tokens: list[int] = []
        sent = ""
        answered = False
        next_check = time.monotonic() + CANCEL_CHECK_S
        for group in groups:
            failed = [r for r in group if r.has_error()]
            if failed:
                sink(_error(failed[0].error().message()), FINAL)
                return
            live = [r for r in group if r.output_tensors()]  # not the empty final-flag one
            if not live:
                continue
            new = [t for r in live for t in self._tokens(r)]
            if stream and self.accumulate:
                tokens.extend(new)
                # Hold back a trailing U+FFFD: the next token may complete that character.
                piece = self._detokenize(tokens).rstrip("\ufffd")[len(sent) :]
                sent += piece
            else:
                piece = self._detokenize(new)
            sink(self._response(piece, live), 0 if stream else FINAL)
            answered = True
            if not stream:
                # The final response is sent and Triton has freed the sender: touching it now
                # (is_cancelled) would crash the server.
                return
            if sender is not None and time.monotonic() >= next_check:
                next_check = time.monotonic() + CANCEL_CHECK_S
                if sender.is_cancelled():
                    self._stop(request_id)
                    sink(None, FINAL)
                    return
        if not stream:
            if not answered:  # e.g. stopped before any token
                sink(self._response("", []), FINAL)
            return
        # What was held back: the final text may end in an incomplete character after all.
        rest = self._detokenize(tokens)[len(sent) :] if self.accumulate and tokens else ""
        if rest:
            sink(self._response(rest, []), 0)
        sink(None, FINAL)

    @staticmethod
    def _groups(responses: Iterable[Any]) -> Iterator[list[Any]]:
        """Streamed engine responses, grouped: each group is all that arrived while the previous
        one was decoded and sent. Under load this sends fewer, longer pieces instead of falling
        ever further behind the engine; unloaded, every group is one response."""
        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

        def pump() -> None:
            try:
                for response in responses:
                    inbox.put(response)
            except Exception as exc:  # raised again on the request's own thread
                inbox.put(exc)
            inbox.put(None)

        threading.Thread(target=pump, daemon=True).start()
        while True:
            group = [inbox.get()]
            while group[-1] is not None and not inbox.empty():
                group.append(inbox.get())
            for item in group:
                if isinstance(item, Exception):
                    raise item
            if group[:-1] or group[-1] is not None:
                yield [item for item in group if item is not None]
            if group[-1] is None:
                return

    @staticmethod
    def _tokens(response: Any) -> list[int]:
        """The first beam's valid tokens of an engine response."""
        ids = pb_utils.get_output_tensor_by_name(response, "output_ids").as_numpy()
        length = pb_utils.get_output_tensor_by_name(response, "sequence_length").as_numpy()
        return [int(t) for t in ids.reshape(-1)[: int(length.reshape(-1)[0])]]

    @staticmethod
    def _flag(request: Any, name: str) -> bool:
        tensor = pb_utils.get_input_tensor_by_name(request, name)
        return tensor is not None and bool(tensor.as_numpy().reshape(-1)[0])

    @staticmethod
    def _inputs(request: Any, mapping: dict[str, str], scalars: frozenset[str]) -> list[Any]:
        """The client's inputs present in `mapping`, renamed; scalars reshaped to [batch, 1]."""
        tensors = []
        for source, target in mapping.items():
            tensor = pb_utils.get_input_tensor_by_name(request, source)
            if tensor is None:
                continue
            array = tensor.as_numpy()
            if target in scalars:
                array = array.reshape(array.shape[0], -1)[:, :1]
            elif array.ndim == 1:  # a client input declared with `reshape: []`
                array = array.reshape(array.shape[0], 1)
            tensors.append(pb_utils.Tensor(target, array))
        return tensors

    def _detokenize(self, tokens: list[int]) -> str:
        """The text of `tokens`, decoded by `postprocessing` in a batch with other requests'."""
        slot: list[Any] = [tokens, None, threading.Event()]
        self.decode_queue.put(slot)
        slot[2].wait()
        if isinstance(slot[1], Exception):
            raise slot[1]
        return str(slot[1])

    def _decode_loop(self) -> None:
        """One postprocessing call per batch of waiting decodes: the call costs about 1 ms here
        whatever its size, so concurrent streams share it instead of queueing one by one."""
        while (first := self.decode_queue.get()) is not None:
            batch = [first]
            while len(batch) < self.decode_batch and not self.decode_queue.empty():
                slot = self.decode_queue.get()
                if slot is None:  # finalize(): stop after this batch
                    self.decode_queue.put(None)
                    break
                batch.append(slot)
            try:
                texts = self._postprocess([slot[0] for slot in batch])
            except Exception as exc:
                texts = [exc] * len(batch)
            for slot, text in zip(batch, texts, strict=True):
                slot[1] = text
                slot[2].set()

    @staticmethod
    def _postprocess(sequences: list[list[int]]) -> list[Any]:
        width = max(len(tokens) for tokens in sequences)
        ids = np.zeros((len(sequences), 1, width), dtype=np.int32)
        for row, tokens in enumerate(sequences):
            ids[row, 0, : len(tokens)] = tokens
        lengths = np.array([[len(tokens)] for tokens in sequences], dtype=np.int32)
        response = _exec(
            pb_utils.InferenceRequest(
                model_name="postprocessing",
                inputs=[
                    pb_utils.Tensor("TOKENS_BATCH", ids),
                    pb_utils.Tensor("SEQUENCE_LENGTH", lengths),
                ],
                requested_output_names=["OUTPUT"],
            )
        )
        values = pb_utils.get_output_tensor_by_name(response, "OUTPUT").as_numpy()
        return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values[:, 0]]

    def _response(self, text: str, group: list[Any]) -> Any:
        """text_output plus the engine outputs the BLS declares: from the group's last response,
        with num_output_tokens summed over the group."""
        tensors = [pb_utils.Tensor("text_output", np.array([[text.encode("utf-8")]], np.object_))]
        if group:
            for tensor in group[-1].output_tensors():
                name, array = tensor.name(), tensor.as_numpy()
                if name not in self.outputs or name in NOT_FORWARDED:
                    continue
                if name == "num_output_tokens":
                    parts = [pb_utils.get_output_tensor_by_name(r, name) for r in group]
                    array = sum(p.as_numpy() for p in parts if p is not None)
                tensors.append(pb_utils.Tensor(name, array))
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def _stop(self, request_id: str) -> None:
        """Ask the engine to end `request_id` early (the `stop` input of the engine)."""
        stop = pb_utils.InferenceRequest(
            model_name=self.engine,
            inputs=[
                pb_utils.Tensor("input_lengths", np.zeros((1, 1), np.int32)),
                pb_utils.Tensor("request_output_len", np.ones((1, 1), np.int32)),
                pb_utils.Tensor("stop", np.ones((1, 1), np.bool_)),
            ],
            requested_output_names=["output_ids"],
            request_id=request_id,
        )
        for _ in stop.exec(decoupled=True) if self.decoupled else [stop.exec()]:
            pass

    def finalize(self) -> None:
        for _ in self.decoders:
            self.decode_queue.put(None)
