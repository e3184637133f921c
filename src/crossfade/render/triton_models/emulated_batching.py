"""The in-flight batching core shared by crossfade's two EMULATED TensorRT-LLM models: the engine
emulator (`tensorrt_llm_emulator`, legacy ensemble layout) and the emulated LLM API model
(`tensorrt_llm_llmapi`). Rendered as ``1/emulated_batching.py`` beside each one's model.py, so
both run this one timing model; it runs inside Triton's python stub and never imports crossfade.
Each model keeps its own wire format (inputs, responses) and hands this core `Sequence`s.

Timing model (parameters `emulator_*`): one scheduler thread runs in-flight batching. Each
iteration admits waiting requests (FIFO) while fewer than `max_batch_size` run and the emulated
KV cache can reserve their prompt + output blocks, then gives every running request one token.
An iteration lasts
    decode_step_ms + decode_step_ms_per_request * (running - 1)
    + prefill_ms_per_token * (prompt tokens admitted in it)
on an absolute schedule (sleep overshoot does not accumulate). The KV cache has
kv_cache_tokens / tokens_per_block blocks; a running request holds
ceil((prompt + generated) / tokens_per_block).

Tokens: drawn from the model's pool of ids, seeded by (emulator_seed, request seed, a hash of the
prompt ids): a prompt gives the same tokens, streamed or not. A request ends at its max_new
tokens, at its end_id once min_tokens are out, or on a stop sequence. Responses are built and
sent on a thread of their own (a send is a round trip to the server, about 0.3 ms here);
cancellation and the override file are polled every 100 ms (upstream's period too).

Environment `CROSSFADE_EMULATOR_OVERRIDES` may name a JSON file, re-read when its mtime changes:
its `prefill_ms_per_token`, `decode_step_ms`, `decode_step_ms_per_request` replace the timing;
`fail_ratio` (0..1) fails that share of new requests with "emulated failure". Top-level keys
apply to every emulated model; an object under a model's name applies to that model alone and
wins (so one of two emulated models can be slowed).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import triton_python_backend_utils as pb_utils

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
DEFAULTS = {"prefill_ms_per_token": 0.02, "decode_step_ms": 1.0, "decode_step_ms_per_request": 0.12}
# Metrics and cancellation polling period: is_cancelled() is a round trip to the server (about
# 0.3 ms here), too dear to pay per request in every 1 ms iteration.
HOUSEKEEPING_S = 0.1
OVERRIDE_CHECK_S = 0.2
# What the core asks a model to say: a new token (streaming, or the last one), a request stopped
# by a `stop` request, or one whose client went away.
TOKEN, STOPPED, CANCELLED = "token", "stopped", "cancelled"
Ids = npt.NDArray[np.int32]


def param(config: dict[str, Any], key: str, default: str) -> str:
    value = config.get("parameters", {}).get(key, {}).get("string_value")
    usable = isinstance(value, str) and value.strip() and not value.startswith("${")
    return value.strip() if usable else default


def scalar(request: Any, name: str, default: Any) -> Any:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return default if tensor is None else tensor.as_numpy().reshape(-1)[0].item()


def vocabulary(model_dir: Path) -> tuple[Ids, int]:
    """(the ids that are not special tokens, the EOS id or -1) from config.json and
    tokenizer.json."""
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
    normal = np.array([i for i in range(int(vocab)) if i not in special], dtype=np.int32)
    return normal, int(eos) if isinstance(eos, int) else -1


class Sequence:
    """One request inside the engine: its prompt ids, what it generates, the server's stamps.
    The model that accepted it keeps whatever else its responses need in `wire`."""

    def __init__(self, request_id: str, sender: Any, arrival_ns: int, prompt: Ids) -> None:
        self.id = request_id
        self.sender = sender
        self.arrival_ns = arrival_ns
        self.prompt = prompt
        self.max_new = 0
        self.min_tokens = 1
        self.end_id = -1
        self.streaming = False
        self.stop_words: list[tuple[int, ...]] = []
        self.wire: Any = None
        self.plan: Ids = np.zeros(0, np.int32)
        self.generated: list[int] = []
        self.scheduled_ns = self.first_ns = self.last_ns = 0
        self.stopped = self.cancelled = False
        self.finish_reason: str | None = None  # "length" or "stop", once finished
        self.stop_word: int | None = None  # index of the stop word that ended it
        self.done = threading.Event()  # non-decoupled mode: execute() waits for it
        # Triton frees a response sender once its final response is sent, and is_cancelled()
        # on a freed sender crashes the server: sends and polls of one request take this lock,
        # and nothing touches the sender after the final send.
        self.io = threading.Lock()
        self.closed = False
        self.result: Any = None

    def blocks(self, per_block: int, final: bool = False) -> int:
        tokens = len(self.prompt) + (self.max_new if final else len(self.generated))
        return math.ceil(tokens / per_block)


# A model's response for (sequence, TOKEN/STOPPED/CANCELLED, tokens generated, last token ns,
# final); None sends the final flag alone. Called on the send thread.
Respond = Callable[[Sequence, str, int, int, bool], Any]
Stats = tuple[float, ...]


class Engine:
    """Emulated in-flight batching (see the module docstring); never TensorRT-LLM."""

    def __init__(
        self,
        config: dict[str, Any],
        model_name: str,
        respond: Respond,
        pool: Ids,
        clock: Callable[[], int] = time.time_ns,
        on_stats: Callable[[Stats], None] | None = None,
    ) -> None:
        sys.setswitchinterval(0.0005)  # the scheduler gets the GIL soon after its sleep ends
        self.model_name = model_name
        self.respond, self.pool, self.clock, self.on_stats = respond, pool, clock, on_stats
        self.decoupled: bool = pb_utils.using_decoupled_model_transaction_policy(config)
        self.base_timing = {
            k: float(param(config, f"emulator_{k}", str(DEFAULTS[k]))) for k in DEFAULTS
        }
        self.timing = dict(self.base_timing)
        self.fail_ratio = 0.0
        self.max_batch = int(param(config, "emulator_max_batch_size", "32"))
        self.per_block = int(param(config, "emulator_tokens_per_block", "32"))
        self.max_blocks = int(param(config, "emulator_kv_cache_tokens", "65536")) // self.per_block
        self.seed = int(param(config, "emulator_seed", "0")) & 0xFFFFFFFF
        self.fail_rng = np.random.default_rng([self.seed, 1])
        self.lock = threading.Condition()
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self.last_batch = (0, 0)  # (scheduled, context) of the latest iteration
        self.outbox: queue.SimpleQueue[tuple[Sequence, str, int, int, int] | None] = (
            queue.SimpleQueue()
        )
        self.alive = True
        self.override_mtime: int | None = None
        self.threads = [
            threading.Thread(target=target, name=f"emulator-{target.__name__}", daemon=True)
            for target in (self._schedule, self._send_loop, self._housekeeping)
        ]
        for thread in self.threads:
            thread.start()

    def draw_plan(self, sequence: Sequence, request_seed: int) -> None:
        """The tokens `sequence` will generate, from the emulator's, the request's and the
        prompt's seeds."""
        digest = hashlib.blake2b(sequence.prompt.astype("<i4").tobytes(), digest_size=16).digest()
        entropy = [self.seed, request_seed & 0xFFFFFFFF, *np.frombuffer(digest, "<u4").tolist()]
        draws = np.random.default_rng(entropy).integers(0, len(self.pool), max(sequence.max_new, 0))
        sequence.plan = self.pool[draws]

    def check(self, sequence: Sequence) -> None:
        """Refuse what the engine cannot take (ValueError), or an emulated failure."""
        if (need := sequence.blocks(self.per_block, final=True)) > self.max_blocks:
            raise ValueError(f"needs {need} KV cache blocks; the cache has {self.max_blocks}")
        if self.fail_ratio > 0 and self.fail_rng.random() < self.fail_ratio:
            raise ValueError("emulated failure")

    def submit(self, sequences: list[Sequence]) -> None:
        with self.lock:
            self.waiting.extend(sequences)
            self.lock.notify()

    def stop(self, request_id: str) -> None:
        """End the in-flight requests that have this request id."""
        with self.lock:
            for other in [*self.waiting, *self.running]:
                other.stopped |= other.id == request_id

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
                r.scheduled_ns = self.clock()
            while (remaining := deadline - time.monotonic()) > 0:
                time.sleep(remaining)
            now_ns = self.clock()
            finished = {id(r) for r in batch if self._step(r, now_ns)}
            with self.lock:
                self.running = [r for r in self.running if id(r) not in finished]
                self.last_batch = (len(batch), len(admitted))

    def _admit_waiting(self) -> list[Sequence]:
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

    def _step(self, r: Sequence, now_ns: int) -> bool:
        """Give `r` its next token and queue what is due; True when it is finished."""
        if r.cancelled or r.stopped:
            self._emit(r, CANCELLED if r.cancelled else STOPPED, FINAL)
            return True
        token = int(r.plan[len(r.generated)])
        if token == r.end_id and len(r.generated) + 1 < r.min_tokens:
            token = int(self.pool[(token + 1) % len(self.pool)])  # EOS suppressed
        r.generated.append(token)
        r.first_ns = r.first_ns or now_ns
        r.last_ns = now_ns
        tail = tuple(r.generated[-max((len(w) for w in r.stop_words), default=0) :])
        matched = [i for i, w in enumerate(r.stop_words) if tail[-len(w) :] == w]
        if matched or (r.end_id >= 0 and token == r.end_id):
            r.finish_reason, r.stop_word = "stop", (matched[0] if matched else None)
        elif len(r.generated) >= r.max_new:
            r.finish_reason = "length"
        if r.streaming or r.finish_reason:
            self._emit(r, TOKEN, FINAL if r.finish_reason else 0)
        return r.finish_reason is not None

    def _emit(self, r: Sequence, event: str, flags: int) -> None:
        self.outbox.put((r, event, flags, r.last_ns, len(r.generated)))

    def _send_loop(self) -> None:
        while (item := self.outbox.get()) is not None:
            r, event, flags, last_ns, generated = item
            with r.io:
                if r.closed:
                    continue
                try:
                    response = self.respond(r, event, generated, last_ns, bool(flags & FINAL))
                    if r.sender is None:  # non-decoupled: execute() returns it
                        r.result = response or pb_utils.InferenceResponse()
                    elif response is None:
                        r.sender.send(flags=flags)
                    else:
                        r.sender.send(response, flags=flags)
                except Exception as exc:  # the client may have gone; nothing to tell it
                    pb_utils.Logger.log_verbose(f"emulator: response to {r.id} not sent: {exc}")
                r.closed = bool(flags & FINAL)
            if flags & FINAL:
                r.done.set()

    def stats(self) -> Stats:
        """(active, max batch, scheduled, context, waiting, KV blocks max, free, used, tokens
        per block, used fraction), as the engine's metrics report them."""
        with self.lock:
            used = sum(r.blocks(self.per_block) for r in self.running)
            active, waiting = len(self.running), len(self.waiting)
            scheduled, context = self.last_batch if active else (0, 0)
        free = self.max_blocks - used
        kv = (self.max_blocks, free, used, self.per_block, used / self.max_blocks)
        return (active, self.max_batch, scheduled, context, waiting, *kv)

    def _housekeeping(self) -> None:
        next_override, overrides = 0.0, os.environ.get("CROSSFADE_EMULATOR_OVERRIDES")
        while self.alive:
            if self.on_stats is not None:
                self.on_stats(self.stats())
            if self.decoupled:  # a client that went away frees its slot
                with self.lock:
                    live = [*self.running, *self.waiting]
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
            own = data.get(self.model_name, {})
            chosen = {**data, **own} if isinstance(own, dict) else data
            timing = {k: float(chosen.get(k, v)) for k, v in self.base_timing.items()}
            fail_ratio = min(1.0, max(0.0, float(chosen.get("fail_ratio", 0.0))))
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
