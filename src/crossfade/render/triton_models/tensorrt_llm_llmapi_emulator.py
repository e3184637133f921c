"""Triton python-backend model `tensorrt_llm_llmapi`: an EMULATOR of TensorRT-LLM's LLM API model.

This is not TensorRT-LLM and runs no model. On the wire it is upstream's LLM API model
(`triton_backend/all_models/llmapi/tensorrt_llm`): the same inputs and outputs, text in
(`text_input`, `sampling_param_*`, `streaming`), text out. Streamed responses carry the text
generated so far, cumulative, as upstream sends `CompletionOutput.text`; with
`sampling_param_return_perf_metrics` each response carries the four per-request timestamps of
this model's own steady clock (time.monotonic_ns), and the kv-cache and draft figures, as
upstream builds them: with text_output's string data type, so they travel as digits. An error
is a final response with text_output "N/A" and "Error generating request: ...".

Timing, token plan, cancellation and the override file are the batching core's
(`emulated_batching.py` beside this file, shared with the engine emulator), so the two emulated
models run one timing model. Like upstream there is no min_tokens and no ignore_eos: a request
ends at max_tokens (default 32), at a stop string, or at EOS, which is never drawn.

Text: the prompt is tokenized and the output decoded with the tokenizer at `tokenizer_dir`
(tokenizer.json, read by the `tokenizers` library). The generated ids are drawn from the ids
that decode to one space-led word and encode back to themselves, so the text re-tokenizes to
exactly the tokens generated, as a real model's text nearly does (arbitrary ids would merge into
fewer tokens). Sampling, best_of > 1, images and LoRA adapters are not emulated; the prompt is
never echoed (CompletionOutput.text is generated text only).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import triton_python_backend_utils as pb_utils

if TYPE_CHECKING:
    from crossfade.render.triton_models import emulated_batching as core
else:  # inside Triton: the copy rendered beside this file
    import emulated_batching as core

PERF = ("arrival_time_ns", "first_scheduled_time_ns", "first_token_time_ns", "last_token_time_ns")
NOT_EMULATED = ("image_url", "lora_id", "lora_name", "lora_path", "lora_ckpt_source")
# Upstream's own messages.
STREAMING_NEEDS_DECOUPLED = "Streaming is only supported in decoupled mode."
CANCELLED_BY_CLIENT = "Request cancelled by client"
MIN_POOL = 16


def whole_word_ids(tokenizer: Any, normal_ids: core.Ids) -> core.Ids:
    """The ids that decode to one space-led ASCII word and encode back to that one id."""
    chosen = []
    for i in normal_ids.tolist():
        text = tokenizer.decode([i])
        word = text[1:]
        if (
            text[:1] == " "
            and word.isascii()
            and word.isalpha()
            and tokenizer.encode(text, add_special_tokens=False).ids == [i]
        ):
            chosen.append(i)
    return np.array(chosen, np.int32) if len(chosen) >= MIN_POOL else normal_ids


class _Wire:
    """What the LLM API model's responses need beyond the core's sequence."""

    def __init__(self, request: Any, stop: list[str]) -> None:
        self.stop = stop
        self.perf = bool(core.scalar(request, "sampling_param_return_perf_metrics", False))
        self.finish = bool(core.scalar(request, "return_finish_reason", False))
        self.stop_reason = bool(core.scalar(request, "return_stop_reason", False))
        self.logprob = bool(core.scalar(request, "return_cumulative_logprob", False))


class TritonPythonModel:
    """Emulated LLM API model (see the module docstring); never TensorRT-LLM."""

    def initialize(self, args: dict[str, str]) -> None:
        from tokenizers import Tokenizer

        config: dict[str, Any] = json.loads(args["model_config"])
        folder = Path(core.param(config, "tokenizer_dir", "."))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        normal_ids, self.eos_id = core.vocabulary(folder)
        output = pb_utils.get_output_config_by_name(config, "text_output")
        self.output_dtype = pb_utils.triton_string_to_numpy(output["data_type"])
        pool = whole_word_ids(self.tokenizer, normal_ids)
        self.engine = core.Engine(
            config, args["model_name"], self._response, pool, clock=time.monotonic_ns
        )

    def execute(self, requests: list[Any]) -> None:
        accepted = []
        for request in requests:
            sender = request.get_response_sender()
            try:
                if core.scalar(request, "stop", False):
                    self._stop(request, sender)
                else:
                    accepted.append(self._accept(request, sender))
            except Exception as exc:  # in-band, as upstream; the model keeps serving
                text = pb_utils.Tensor("text_output", self._strings(["N/A"]))
                error = pb_utils.TritonError(f"Error generating request: {exc}")
                sender.send(pb_utils.InferenceResponse([text], error=error), flags=core.FINAL)
        self.engine.submit(accepted)
        return None  # every response goes through the senders, decoupled or not

    def _stop(self, request: Any, sender: Any) -> None:
        """A `stop` request: end the request with its id; answered with upstream's error."""
        if not request.request_id():
            message = "A request id must be provided for request cancellation"
            sender.send(pb_utils.InferenceResponse(error=pb_utils.TritonError(message)), core.FINAL)
            return
        self.engine.stop(request.request_id())
        error = pb_utils.TritonError(CANCELLED_BY_CLIENT, pb_utils.TritonError.CANCELLED)
        sender.send(pb_utils.InferenceResponse(error=error), flags=core.FINAL)

    def _accept(self, request: Any, sender: Any) -> core.Sequence:
        scalar = core.scalar
        arrival_ns = self.engine.clock()
        text_input = pb_utils.get_input_tensor_by_name(request, "text_input")
        if text_input is None:
            raise ValueError("text_input is missing from the request")
        prompt_array = text_input.as_numpy()
        if prompt_array.ndim > 1:
            raise ValueError("text_input must be a 1-D tensor (one prompt)")
        prompt = prompt_array.reshape(-1)[0]
        prompt = prompt.decode("utf-8") if isinstance(prompt, bytes) else str(prompt)
        streaming = bool(scalar(request, "streaming", False))
        if streaming and not self.engine.decoupled:
            raise ValueError(STREAMING_NEEDS_DECOUPLED)
        for name in NOT_EMULATED:
            if pb_utils.get_input_tensor_by_name(request, name) is not None:
                raise ValueError(f"{name}: not emulated by crossfade's LLM API emulator")
        if int(scalar(request, "sampling_param_best_of", 1)) != 1:
            raise ValueError("the LLM API emulator supports sampling_param_best_of 1 only")
        ids = np.array(self.tokenizer.encode(prompt).ids, np.int32)
        item = core.Sequence(request.request_id(), sender, arrival_ns, ids)
        item.max_new = int(scalar(request, "sampling_param_max_tokens", 32))
        item.end_id, item.streaming = self.eos_id, streaming
        stop_tensor = pb_utils.get_input_tensor_by_name(request, "sampling_param_stop")
        stop = [] if stop_tensor is None else [_text(s) for s in stop_tensor.as_numpy().reshape(-1)]
        encoded = [tuple(self.tokenizer.encode(s, add_special_tokens=False).ids) for s in stop]
        item.stop_words = [word for word in encoded if word]
        item.wire = _Wire(request, [s for s, word in zip(stop, encoded, strict=True) if word])
        if item.max_new < 1:
            raise ValueError("sampling_param_max_tokens must be at least 1")
        self.engine.draw_plan(item, int(scalar(request, "sampling_param_seed", 0)))
        self.engine.check(item)
        return item

    def _response(
        self, r: core.Sequence, event: str, generated: int, last_ns: int, final: bool
    ) -> Any:
        """The text so far (cumulative), with the outputs the request asked for."""
        wire: _Wire = r.wire
        if event == core.CANCELLED:  # the client went away; upstream says so in an error
            error = pb_utils.TritonError(CANCELLED_BY_CLIENT, pb_utils.TritonError.CANCELLED)
            return pb_utils.InferenceResponse(error=error)
        ids = r.generated[:generated]
        stop_reason = None
        if final and r.stop_word is not None:  # the stop string is not part of the text
            ids = ids[: len(ids) - len(r.stop_words[r.stop_word])]
            stop_reason = wire.stop[r.stop_word]
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        reason = ("cancelled" if event == core.STOPPED else r.finish_reason) if final else None
        outputs: dict[str, Any] = {"text_output": text.encode("utf-8")}
        for name, wanted, value in (
            ("finish_reason", wire.finish, reason),
            ("stop_reason", wire.stop_reason, stop_reason),
            ("cumulative_logprob", wire.logprob, None),
        ):
            if wanted:  # upstream sends str() of the value: "None" when there is none
                outputs[name] = str(value)
        if wire.perf:
            blocks = -(-(len(r.prompt) + generated) // self.engine.per_block)
            stamps = (r.arrival_ns, r.scheduled_ns, r.first_ns, last_ns)
            outputs.update(
                kv_cache_reused_block=0,
                kv_cache_hit_rate=0.0,
                kv_cache_alloc_new_blocks=blocks,
                kv_cache_alloc_total_blocks=blocks,
                kv_cache_missed_block=blocks,
                **dict(zip(PERF, stamps, strict=True)),
                acceptance_rate=0.0,
                total_accepted_draft_tokens=0,
                total_draft_tokens=0,
            )
        # All with text_output's (string) data type, as upstream builds them.
        tensors = [pb_utils.Tensor(k, self._strings([v])) for k, v in outputs.items()]
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def _strings(self, values: list[Any]) -> Any:
        """An array of text_output's data type (a string type: numbers travel as digits)."""
        return np.asarray(values, dtype=self.output_dtype)

    def finalize(self) -> None:
        self.engine.finalize()


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
