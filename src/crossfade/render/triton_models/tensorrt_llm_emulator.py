"""Triton python-backend model `tensorrt_llm_emulator`: an EMULATOR of the TensorRT-LLM engine.

This is not TensorRT-LLM and runs no model: crossfade's CPU-only lab renders it in place of the
`tensorrt_llm` model, with the same inputs and outputs, returning pseudo-random token ids on a
timing model so that everything around it runs for real. Nothing it measures is TensorRT-LLM's.

The timing model, the token plan, cancellation and the override file are the batching core's
(`emulated_batching.py` beside this file, shared with the emulated LLM API model). This file is
the engine's wire format: token ids in, token ids out.

Tokens: drawn from the vocabulary minus special tokens (size from config.json at
`gpt_model_path`). Special tokens are never drawn, so with the tokenizer's EOS (or end_id -1) a
request runs to request_output_len; an end_id that is a normal id stops it once min_tokens are
out. Stop words stop it; bad words, sampling and beams are not emulated (beam_width and
num_return_sequences must be 1). Streamed num_output_tokens counts that response's tokens.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import triton_python_backend_utils as pb_utils

if TYPE_CHECKING:
    from crossfade.render.triton_models import emulated_batching as core
else:  # inside Triton: the copy rendered beside this file
    import emulated_batching as core

PERF = ("arrival_time_ns", "first_scheduled_time_ns", "first_token_time_ns", "last_token_time_ns")
KV = ("kv_cache_alloc_new_blocks", "kv_cache_reused_blocks", "kv_cache_alloc_total_blocks")
REQUEST_GAUGES = ("active", "max", "scheduled", "context", "waiting")
KV_GAUGES = ("max", "free", "used", "tokens_per", "fraction")
# The C++ backend's own messages.
BATCH_NEEDS_DECOUPLED = (
    "Batch size > 1 requires the tensorrt_llm backend to be using decoupled transaction policy"
)
STREAMING_NEEDS_DECOUPLED = "Streaming is only supported if model is deployed using decoupled mode."


def _error(message: str) -> Any:
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(message))


class _Wire:
    """What the engine's responses need beyond the core's sequence."""

    def __init__(self, request: Any, exclude_default: bool) -> None:
        scalar = core.scalar
        self.exclude = bool(scalar(request, "exclude_input_in_output", exclude_default))
        self.want_in = bool(scalar(request, "return_num_input_tokens", False))
        self.want_out = bool(scalar(request, "return_num_output_tokens", False))
        self.want_perf = bool(scalar(request, "return_perf_metrics", False))


def _words(request: Any, name: str) -> list[tuple[int, ...]]:
    """A [2, L] word list (flat ids, end offsets padded with -1) as token sequences."""
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    array = None if tensor is None else tensor.as_numpy()
    if array is None or array.size == 0:
        return []
    flat, offsets = array.reshape(-1, 2, array.shape[-1])[0]
    starts = [0, *(int(o) for o in offsets if o >= 0)]
    return [tuple(flat[a:b].tolist()) for a, b in itertools.pairwise(starts) if b > a]


class TritonPythonModel:
    """Emulated in-flight batching engine (see the module docstring); never TensorRT-LLM."""

    def initialize(self, args: dict[str, str]) -> None:
        config: dict[str, Any] = json.loads(args["model_config"])
        exclude = core.param(config, "exclude_input_in_output", "false").lower()
        self.exclude_default = exclude in ("true", "1")
        model_dir = Path(core.param(config, "gpt_model_path", "."))
        normal_ids, self.eos_id = core.vocabulary(model_dir)
        labels = {"model": args["model_name"], "version": args["model_version"]}
        # The backend's families and labels; gauges in the order of Engine.stats().
        self.families: list[Any] = []
        self.gauges: list[Any] = []
        for kind, label, values in (
            ("request", "request_type", REQUEST_GAUGES),
            ("kv_cache_block", "kv_cache_block_type", KV_GAUGES),
        ):
            text = f"TRT-LLM {kind} metrics (crossfade emulator)"
            gauge = pb_utils.MetricFamily.GAUGE
            family = pb_utils.MetricFamily(f"nv_trt_llm_{kind}_metrics", text, gauge)
            self.families.append(family)
            self.gauges += [self.families[-1].Metric(labels={**labels, label: v}) for v in values]
        self.published: list[float | None] = [None] * len(self.gauges)
        self.engine = core.Engine(
            config, args["model_name"], self._response, normal_ids, on_stats=self._publish
        )

    def execute(self, requests: list[Any]) -> list[Any] | None:
        decoupled = self.engine.decoupled
        outcomes: list[Any] = []  # per request: a Sequence, or its response already decided
        for request in requests:
            sender = request.get_response_sender() if decoupled else None
            try:  # a `stop` request (None) is answered empty
                outcomes.append(self._accept(request, sender) or pb_utils.InferenceResponse())
            except Exception as exc:  # in-band error; the engine keeps serving
                outcomes.append(_error(str(exc)))
                if sender is not None:
                    sender.send(outcomes[-1], core.FINAL)
        accepted = [item for item in outcomes if isinstance(item, core.Sequence)]
        self.engine.submit(accepted)
        if decoupled:
            return None
        for item in accepted:
            item.done.wait()
        return [item.result if isinstance(item, core.Sequence) else item for item in outcomes]

    def _accept(self, request: Any, sender: Any) -> core.Sequence | None:
        """Validate one request; None when it needs no generation (a `stop` request)."""
        decoupled, scalar = self.engine.decoupled, core.scalar
        ids = pb_utils.get_input_tensor_by_name(request, "input_ids")
        if ids is not None and ids.as_numpy().shape[0] > 1:
            raise ValueError("one sequence per request" if decoupled else BATCH_NEEDS_DECOUPLED)
        if bool(scalar(request, "streaming", False)) and not decoupled:
            raise ValueError(STREAMING_NEEDS_DECOUPLED)
        if bool(scalar(request, "stop", False)):
            self.engine.stop(request.request_id())
            if sender is not None:
                sender.send(flags=core.FINAL)
            return None
        if pb_utils.get_input_tensor_by_name(request, "request_output_len") is None:
            raise ValueError("request_output_len is not present in the request")
        for name in ("beam_width", "num_return_sequences"):
            if scalar(request, name, 1) != 1:
                raise ValueError(f"the engine emulator supports {name} 1 only")
        arrival_ns = self.engine.clock()
        prompt = ids.as_numpy().reshape(-1) if ids is not None else np.zeros(0, np.int32)
        length = int(scalar(request, "input_lengths", 0))
        prompt = prompt[: length or len(prompt)].astype(np.int32)
        item = core.Sequence(request.request_id(), sender, arrival_ns, prompt)
        item.max_new = int(scalar(request, "request_output_len", 0))
        item.min_tokens = int(scalar(request, "min_tokens", 1))
        item.end_id = int(scalar(request, "end_id", self.eos_id))
        item.streaming = bool(scalar(request, "streaming", False))
        item.stop_words = _words(request, "stop_words_list")
        item.wire = _Wire(request, self.exclude_default)
        if item.max_new < 1:
            raise ValueError("request_output_len must be at least 1")
        self.engine.draw_plan(item, int(scalar(request, "seed", 0)))
        self.engine.check(item)
        return item

    def _response(
        self, r: core.Sequence, event: str, generated: int, last_ns: int, final: bool
    ) -> Any:
        """The engine's answer: the streamed token, or the whole output (the prompt first
        unless exclude_input_in_output); None (the final flag alone) when there is nothing."""
        wire: _Wire = r.wire
        if event == core.CANCELLED or (event == core.STOPPED and r.streaming):
            return None
        if event == core.TOKEN and r.streaming:
            ids = r.generated[generated - 1 : generated]
        else:
            tokens = r.generated[:generated]
            ids = tokens if wire.exclude else [*r.prompt.tolist(), *tokens]
        ints = {"output_ids": [ids], "sequence_length": [len(ids)]}
        if wire.want_in:
            ints["num_input_tokens"] = [len(r.prompt)]
        if wire.want_out:  # in streaming, the tokens of this response
            ints["num_output_tokens"] = [len(ids) if r.streaming else generated]
        tensors = [pb_utils.Tensor(k, np.array([v], np.int32)) for k, v in ints.items()]
        if wire.want_perf:
            blocks = math.ceil((len(r.prompt) + generated) / self.engine.per_block)
            values = (r.arrival_ns, r.scheduled_ns, r.first_ns, last_ns, blocks, 0, blocks)
            for name, value in zip(PERF + KV, values, strict=True):
                array = np.array([[value]], np.int64 if name in PERF else np.int32)
                tensors.append(pb_utils.Tensor(name, array))
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def _publish(self, values: tuple[float, ...]) -> None:
        # set() is a round trip that never returns once the server has gone (and then blocks
        # the stub's exit): only on change, so an idle emulator sends none.
        for i, value in enumerate(values):  # in the order of REQUEST_GAUGES, KV_GAUGES
            if self.published[i] != value:
                self.gauges[i].set(value)
                self.published[i] = value

    def finalize(self) -> None:
        self.engine.finalize()
        self.gauges.clear()  # metrics go before their families
        self.families.clear()
