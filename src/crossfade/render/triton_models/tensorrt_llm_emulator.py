"""Triton python-backend model `tensorrt_llm_emulator`: an EMULATOR of the TensorRT-LLM engine.

This is not TensorRT-LLM and runs no model: crossfade's CPU-only lab renders it in place of the
`tensorrt_llm` model, with the same inputs and outputs, returning pseudo-random token ids on a
timing model so that everything around it runs for real. Nothing it measures is TensorRT-LLM's.

Timing model (parameters `emulator_*`): one scheduler thread runs in-flight batching. Each
iteration admits waiting requests (FIFO) while fewer than `max_batch_size` run and the emulated
KV cache can reserve their prompt + output blocks, then gives every running request one token.
An iteration lasts
    decode_step_ms + decode_step_ms_per_request * (running - 1)
    + prefill_ms_per_token * (prompt tokens admitted in it)
on an absolute schedule (sleep overshoot does not accumulate). The KV cache has
kv_cache_tokens / tokens_per_block blocks; a running request holds
ceil((prompt + generated) / tokens_per_block).

Tokens: drawn from the vocabulary minus special tokens (size from config.json at
`gpt_model_path`), seeded by (emulator_seed, request seed, a hash of the prompt ids): a prompt
gives the same tokens, streamed or not. Special tokens are never drawn, so with the tokenizer's
EOS (or end_id -1) a request runs to request_output_len; an end_id that is a normal id stops it
once min_tokens are out. Stop words stop it; bad words, sampling and beams are not emulated
(beam_width and num_return_sequences must be 1). Streamed num_output_tokens counts that
response's tokens. Cancellation and metrics are polled every 100 ms (upstream's periods too).

Environment `CROSSFADE_EMULATOR_OVERRIDES` may name a JSON file, re-read when its mtime changes:
its `prefill_ms_per_token`, `decode_step_ms`, `decode_step_ms_per_request` replace the timing;
`fail_ratio` (0..1) fails that share of new requests with "emulated failure".
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import queue
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL  # (MetricFamily only exists at run time)
DEFAULTS = {"prefill_ms_per_token": 0.02, "decode_step_ms": 1.0, "decode_step_ms_per_request": 0.12}
# Metrics and cancellation polling period: is_cancelled() is a round trip to the server (about
# 0.3 ms here), too dear to pay per request in every 1 ms iteration.
HOUSEKEEPING_S = 0.1
OVERRIDE_CHECK_S = 0.2
PERF = ("arrival_time_ns", "first_scheduled_time_ns", "first_token_time_ns", "last_token_time_ns")
KV = ("kv_cache_alloc_new_blocks", "kv_cache_reused_blocks", "kv_cache_alloc_total_blocks")
REQUEST_GAUGES = ("active", "max", "scheduled", "context", "waiting")
KV_GAUGES = ("max", "free", "used", "tokens_per", "fraction")
# The C++ backend's own messages.
BATCH_NEEDS_DECOUPLED = (
    "Batch size > 1 requires the tensorrt_llm backend to be using decoupled transaction policy"
)
STREAMING_NEEDS_DECOUPLED = "Streaming is only supported if model is deployed using decoupled mode."


def _param(config: dict[str, Any], key: str, default: str) -> str:
    value = config.get("parameters", {}).get(key, {}).get("string_value")
    usable = isinstance(value, str) and value.strip() and not value.startswith("${")
    return value.strip() if usable else default


def _error(message: str) -> Any:
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(message))


def _scalar(request: Any, name: str, default: Any) -> Any:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return default if tensor is None else tensor.as_numpy().reshape(-1)[0].item()


def _vocabulary(model_dir: Path) -> tuple[int, set[int], int]:
    """(vocabulary size, special token ids, EOS id) from config.json and tokenizer.json."""
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    special: set[int] = set()
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = config.get(key)
        special.update(value if isinstance(value, list) else [] if value is None else [value])
    vocab = config.get("vocab_size")
    if (model_dir / "tokenizer.json").is_file():
        tokenizer = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
        added = tokenizer.get("added_tokens", [])
        special.update(int(t["id"]) for t in added if t.get("special"))
        vocab = vocab or len(tokenizer.get("model", {}).get("vocab", {})) + len(added)
    if not vocab:
        raise ValueError(f"no vocab_size in {model_dir / 'config.json'} nor tokenizer.json")
    eos = config.get("eos_token_id")
    eos = eos[0] if isinstance(eos, list) and eos else eos
    return int(vocab), special, int(eos) if isinstance(eos, int) else -1


class _Request:
    def __init__(self, request: Any, sender: Any, emulator: TritonPythonModel) -> None:
        self.sender = sender
        self.id: str = request.request_id()
        self.arrival_ns = time.time_ns()
        ids = pb_utils.get_input_tensor_by_name(request, "input_ids")
        prompt = ids.as_numpy().reshape(-1) if ids is not None else np.zeros(0, np.int32)
        length = int(_scalar(request, "input_lengths", 0))
        self.prompt = prompt[: length or len(prompt)].astype(np.int32)
        self.max_new = int(_scalar(request, "request_output_len", 0))
        self.min_tokens = int(_scalar(request, "min_tokens", 1))
        self.end_id = int(_scalar(request, "end_id", emulator.eos_id))
        self.streaming = bool(_scalar(request, "streaming", False))
        self.exclude = bool(_scalar(request, "exclude_input_in_output", emulator.exclude_default))
        self.want_in = bool(_scalar(request, "return_num_input_tokens", False))
        self.want_out = bool(_scalar(request, "return_num_output_tokens", False))
        self.want_perf = bool(_scalar(request, "return_perf_metrics", False))
        self.stop_words = self._words(request, "stop_words_list")
        seed = int(_scalar(request, "seed", 0)) & 0xFFFFFFFF
        digest = hashlib.blake2b(self.prompt.astype("<i4").tobytes(), digest_size=16).digest()
        entropy = [emulator.seed, seed, *np.frombuffer(digest, dtype="<u4").tolist()]
        rng = np.random.default_rng(entropy)
        draws = rng.integers(0, len(emulator.normal_ids), max(self.max_new, 0))
        self.plan = emulator.normal_ids[draws]
        self.generated: list[int] = []
        self.scheduled_ns = self.first_ns = self.last_ns = 0
        self.stopped = self.cancelled = False
        self.done = threading.Event()  # non-decoupled mode: execute() waits for it
        # Triton frees a response sender once its final response is sent, and is_cancelled()
        # on a freed sender crashes the server: sends and polls of one request take this lock,
        # and nothing touches the sender after the final send.
        self.io = threading.Lock()
        self.closed = False
        self.result: Any = None

    @staticmethod
    def _words(request: Any, name: str) -> list[tuple[int, ...]]:
        """A [2, L] word list (flat ids, end offsets padded with -1) as token sequences."""
        tensor = pb_utils.get_input_tensor_by_name(request, name)
        array = None if tensor is None else tensor.as_numpy()
        if array is None or array.size == 0:
            return []
        flat, offsets = array.reshape(-1, 2, array.shape[-1])[0]
        starts = [0, *(int(o) for o in offsets if o >= 0)]
        return [tuple(flat[a:b].tolist()) for a, b in itertools.pairwise(starts) if b > a]

    def output(self) -> list[int]:
        """Non-streaming output: the prompt first unless exclude_input_in_output."""
        return self.generated if self.exclude else [*self.prompt.tolist(), *self.generated]

    def blocks(self, per_block: int, final: bool = False) -> int:
        tokens = len(self.prompt) + (self.max_new if final else len(self.generated))
        return math.ceil(tokens / per_block)


class TritonPythonModel:
    """Emulated in-flight batching engine (see the module docstring); never TensorRT-LLM."""

    def initialize(self, args: dict[str, str]) -> None:
        config: dict[str, Any] = json.loads(args["model_config"])
        sys.setswitchinterval(0.0005)  # the scheduler gets the GIL soon after its sleep ends
        self.decoupled: bool = pb_utils.using_decoupled_model_transaction_policy(config)
        self.base_timing = {
            k: float(_param(config, f"emulator_{k}", str(DEFAULTS[k]))) for k in DEFAULTS
        }
        self.timing = dict(self.base_timing)
        self.fail_ratio = 0.0
        self.max_batch = int(_param(config, "emulator_max_batch_size", "32"))
        self.per_block = int(_param(config, "emulator_tokens_per_block", "32"))
        self.max_blocks = int(_param(config, "emulator_kv_cache_tokens", "65536")) // self.per_block
        self.seed = int(_param(config, "emulator_seed", "0")) & 0xFFFFFFFF
        exclude = _param(config, "exclude_input_in_output", "false").lower()
        self.exclude_default = exclude in ("true", "1")
        vocab, special, self.eos_id = _vocabulary(Path(_param(config, "gpt_model_path", ".")))
        self.normal_ids = np.array([i for i in range(vocab) if i not in special], dtype=np.int32)
        self.fail_rng = np.random.default_rng([self.seed, 1])
        self.lock = threading.Condition()
        self.waiting: deque[_Request] = deque()
        self.running: list[_Request] = []
        self.last_batch = (0, 0)  # (scheduled, context) of the latest iteration
        self.outbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self.alive = True
        labels = {"model": args["model_name"], "version": args["model_version"]}
        # The backend's families and labels; gauges in the order _housekeeping computes them.
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
        self.override_mtime: int | None = None
        self.threads = [
            threading.Thread(target=target, name=f"emulator-{target.__name__}", daemon=True)
            for target in (self._schedule, self._send_loop, self._housekeeping)
        ]
        for thread in self.threads:
            thread.start()

    def execute(self, requests: list[Any]) -> list[Any] | None:
        outcomes: list[Any] = []  # per request: a _Request, or its response already decided
        for request in requests:
            sender = request.get_response_sender() if self.decoupled else None
            try:  # a `stop` request (None) is answered empty
                outcomes.append(self._accept(request, sender) or pb_utils.InferenceResponse())
            except Exception as exc:  # in-band error; the engine keeps serving
                outcomes.append(_error(str(exc)))
                if sender is not None:
                    sender.send(outcomes[-1], FINAL)
        accepted = [item for item in outcomes if isinstance(item, _Request)]
        with self.lock:
            self.waiting.extend(accepted)
            self.lock.notify()
        if self.decoupled:
            return None
        for item in accepted:
            item.done.wait()
        return [item.result if isinstance(item, _Request) else item for item in outcomes]

    def _accept(self, request: Any, sender: Any) -> _Request | None:
        """Validate one request; None when it needs no generation (a `stop` request)."""
        ids = pb_utils.get_input_tensor_by_name(request, "input_ids")
        if ids is not None and ids.as_numpy().shape[0] > 1:
            raise ValueError(
                "one sequence per request" if self.decoupled else BATCH_NEEDS_DECOUPLED
            )
        if bool(_scalar(request, "streaming", False)) and not self.decoupled:
            raise ValueError(STREAMING_NEEDS_DECOUPLED)
        if bool(_scalar(request, "stop", False)):
            with self.lock:  # end the in-flight request that has this request id
                for other in [*self.waiting, *self.running]:
                    other.stopped |= other.id == request.request_id()
            if sender is not None:
                sender.send(flags=FINAL)
            return None
        if pb_utils.get_input_tensor_by_name(request, "request_output_len") is None:
            raise ValueError("request_output_len is not present in the request")
        for name in ("beam_width", "num_return_sequences"):
            if _scalar(request, name, 1) != 1:
                raise ValueError(f"the engine emulator supports {name} 1 only")
        item = _Request(request, sender, self)
        if item.max_new < 1:
            raise ValueError("request_output_len must be at least 1")
        if (need := item.blocks(self.per_block, final=True)) > self.max_blocks:
            raise ValueError(f"needs {need} KV cache blocks; the cache has {self.max_blocks}")
        if self.fail_ratio > 0 and self.fail_rng.random() < self.fail_ratio:
            raise ValueError("emulated failure")
        return item

    def _schedule(self) -> None:
        deadline = 0.0
        while self.alive:
            with self.lock:
                while self.alive and not self.waiting and not self.running:
                    self.lock.wait()
                now = time.monotonic()
                # Keep the absolute schedule (catching up on a late wake-up) unless idle or far
                # behind, when the next iteration starts now.
                start = deadline if now - deadline < 2 * self._step_s(1) else now
                admitted = self._admit_waiting()
                batch = list(self.running)
            deadline = start + self._step_s(len(batch), sum(len(r.prompt) for r in admitted))
            for r in admitted:
                r.scheduled_ns = time.time_ns()
            while (remaining := deadline - time.monotonic()) > 0:
                time.sleep(remaining)
            now_ns = time.time_ns()
            finished = {id(r) for r in batch if self._step(r, now_ns)}
            with self.lock:
                self.running = [r for r in self.running if id(r) not in finished]
                self.last_batch = (len(batch), len(admitted))

    def _admit_waiting(self) -> list[_Request]:
        """FIFO admission while a slot is free and the KV cache can hold the whole request."""
        reserved = sum(r.blocks(self.per_block, final=True) for r in self.running)
        admitted = []
        while self.waiting and len(self.running) < self.max_batch:
            need = self.waiting[0].blocks(self.per_block, final=True)
            if reserved + need > self.max_blocks:
                break
            reserved += need
            admitted.append(self.waiting.popleft())
            self.running.append(admitted[-1])
        return admitted

    def _step_s(self, running: int, prefill_tokens: int = 0) -> float:
        t = self.timing
        ms = t["decode_step_ms"] + t["decode_step_ms_per_request"] * max(0, running - 1)
        return (ms + t["prefill_ms_per_token"] * prefill_tokens) / 1000.0

    def _step(self, r: _Request, now_ns: int) -> bool:
        """Give `r` its next token and queue what is due; True when it is finished."""
        if r.cancelled or (r.stopped and r.streaming):
            self.outbox.put((r, None, FINAL, 0, 0))  # nothing more to say
            return True
        if r.stopped:
            self._emit(r, r.output(), FINAL)  # the tokens so far
            return True
        token = int(r.plan[len(r.generated)])
        if token == r.end_id and len(r.generated) + 1 < r.min_tokens:
            token = int(self.normal_ids[(token + 1) % len(self.normal_ids)])  # EOS suppressed
        r.generated.append(token)
        r.first_ns = r.first_ns or now_ns
        r.last_ns = now_ns
        tail = tuple(r.generated[-max((len(w) for w in r.stop_words), default=0) :])
        done = (
            len(r.generated) >= r.max_new
            or (r.end_id >= 0 and token == r.end_id)
            or any(tail[-len(w) :] == w for w in r.stop_words)
        )
        if r.streaming:
            self._emit(r, [token], FINAL if done else 0)
        elif done:
            self._emit(r, r.output(), FINAL)
        return done

    def _emit(self, r: _Request, ids: list[int], flags: int) -> None:
        self.outbox.put((r, ids, flags, r.last_ns, len(r.generated)))

    def _response(self, r: _Request, ids: list[int], last_ns: int, generated: int) -> Any:
        ints = {"output_ids": [ids], "sequence_length": [len(ids)]}
        if r.want_in:
            ints["num_input_tokens"] = [len(r.prompt)]
        if r.want_out:  # in streaming, the tokens of this response
            ints["num_output_tokens"] = [len(ids) if r.streaming else generated]
        tensors = [pb_utils.Tensor(k, np.array([v], np.int32)) for k, v in ints.items()]
        if r.want_perf:
            blocks = math.ceil((len(r.prompt) + generated) / self.per_block)
            values = (r.arrival_ns, r.scheduled_ns, r.first_ns, last_ns, blocks, 0, blocks)
            for name, value in zip(PERF + KV, values, strict=True):
                array = np.array([[value]], np.int64 if name in PERF else np.int32)
                tensors.append(pb_utils.Tensor(name, array))
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def _send_loop(self) -> None:
        # Off the scheduler thread: a send is a round trip to the server (about 0.3 ms here).
        while (item := self.outbox.get()) is not None:
            r, ids, flags, last_ns, generated = item
            with r.io:
                if r.closed:
                    continue
                try:
                    if ids is None:
                        r.sender.send(flags=flags)
                    elif r.sender is not None:
                        r.sender.send(self._response(r, ids, last_ns, generated), flags=flags)
                    else:
                        r.result = self._response(r, ids, last_ns, generated)
                except Exception as exc:  # the client may have gone; nothing to tell it
                    pb_utils.Logger.log_verbose(f"emulator: response to {r.id} not sent: {exc}")
                r.closed = bool(flags & FINAL)
            if flags & FINAL:
                r.done.set()

    def _housekeeping(self) -> None:
        next_override, overrides = 0.0, os.environ.get("CROSSFADE_EMULATOR_OVERRIDES")
        while self.alive:
            with self.lock:
                live = [*self.running, *self.waiting]
                used = sum(r.blocks(self.per_block) for r in self.running)
                active, waiting = len(self.running), len(self.waiting)
                scheduled, context = self.last_batch if active else (0, 0)
            free = self.max_blocks - used
            kv = (self.max_blocks, free, used, self.per_block, used / self.max_blocks)
            values = (active, self.max_batch, scheduled, context, waiting, *kv)
            # set() is a round trip that never returns once the server has gone (and then
            # blocks the stub's exit): only on change, so an idle emulator sends none.
            for i, value in enumerate(values):  # in the order of REQUEST_GAUGES, KV_GAUGES
                if self.published[i] != value:
                    self.gauges[i].set(value)
                    self.published[i] = value
            if self.decoupled:  # a client that went away frees its slot
                for r in live:
                    with r.io:
                        if not r.closed:
                            r.cancelled = r.cancelled or bool(r.sender.is_cancelled())
            if overrides and time.monotonic() >= next_override:
                next_override = time.monotonic() + OVERRIDE_CHECK_S
                self._read_overrides(overrides)
            time.sleep(HOUSEKEEPING_S)

    def _read_overrides(self, path: str) -> None:
        """Apply the override file when its mtime changed; a removed file restores the base."""
        mtime = os.stat(path).st_mtime_ns if os.path.exists(path) else None
        if mtime == self.override_mtime:
            return
        self.override_mtime = mtime
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8")) if mtime is not None else {}
            timing = {k: float(data.get(k, v)) for k, v in self.base_timing.items()}
            fail_ratio = min(1.0, max(0.0, float(data.get("fail_ratio", 0.0))))
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            pb_utils.Logger.log_warn(f"emulator overrides {path} ignored: {exc}")
            return
        self.timing = timing  # one assignment: the scheduler sees old or new, never a mix
        self.fail_ratio = fail_ratio
        pb_utils.Logger.log_info(f"emulator overrides from {path}: {data}")

    def finalize(self) -> None:
        self.alive = False
        with self.lock:
            self.lock.notify_all()
        self.outbox.put(None)
        for thread in reversed(self.threads):  # housekeeping first: it talks to the server
            thread.join(timeout=2.0)
        self.gauges.clear()  # metrics go before their families
        self.families.clear()
