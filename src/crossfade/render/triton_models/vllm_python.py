"""Triton python-backend model with the interface of Triton's vLLM backend, on vLLM's AsyncLLM.

Rendered as ``vllm_model/1/model.py`` beside ``model.json`` (the ``AsyncEngineArgs``). It runs
inside Triton's python stub, so it imports only numpy, the standard library, pb_utils and vLLM.

Design: one asyncio loop in a background thread owns the engine. ``execute`` parses each request,
hands it to the loop and returns at once (decoupled), so one instance serves many requests and
vLLM batches them. Responses are sent from the loop thread; metric updates go through a queue to
their own thread so that their IPC with the server never stalls the loop.

Cancellation: ``response_sender.is_cancelled()`` is polled after every engine output and, until
the first output arrives, on a 50 ms timer; a cancelled request is aborted in the engine.

Engine-core processes: vLLM's CPU platform forces multiprocessing ``spawn``. Inside the stub,
``sys.executable`` is the ``python3`` found first on PATH when Triton starts (the lab puts the
serving venv's ``bin/`` first), so spawned children start that interpreter and work unchanged.

Deviations from the upstream backend: string booleans in sampling parameters are parsed
("false" is False, not True); an unknown sampling key fails the request with a message naming
the key. The health check (ENABLE_VLLM_HEALTH_CHECK) and the multimodal ``image`` input are not
implemented.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import gc
import itertools
import json
import locale
import math
import os
import queue
import threading
import time
import typing
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

_FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
_CANCEL_POLL_S = 0.05
# Bucket lists of the upstream backend's vllm:* histograms.
_TTFT_BUCKETS = [
    *(0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1),
    *(0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0),
]
_TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5]
_E2E_BUCKETS = [1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0]
_N_BUCKETS = [1.0, 2.0, 5.0, 10.0, 20.0]
_FLAGS = (
    "return_finish_reason",
    "return_cumulative_logprob",
    "return_logprobs",
    "return_num_input_tokens",
    "return_num_output_tokens",
)


def _one_two_five(limit: int) -> list[float]:
    """1, 2, 5, 10, 20, 50, ... up to `limit`: vLLM's buckets for token-count histograms."""
    out: list[float] = []
    for exponent in itertools.count():
        for mantissa in (1, 2, 5):
            value = mantissa * 10**exponent
            if value > limit:
                return out
            out.append(float(value))
    return out


def _bool_input(request: Any, name: str) -> bool | None:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return None if tensor is None else bool(tensor.as_numpy().reshape(-1)[0])


def _cast(key: str, value: Any, hint: Any) -> Any:
    """Casts a JSON value to the scalar type SamplingParams annotates (so "100" is fine)."""
    options = [t for t in typing.get_args(hint) if t is not type(None)] or [hint]
    target = options[0] if len(options) == 1 else None
    if value is None or target not in (int, float, bool, str):
        return value
    try:
        if target is bool and isinstance(value, str):
            # Unlike bool("false"), which is True.
            if value.strip().lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return value.strip().lower() in ("true", "1")
        return target(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"sampling parameter '{key}': {value!r} is not a {target.__name__}"
        ) from None


def _logprobs_json(logprobs: Any, start: int) -> str:
    """vLLM's per-position {token id: Logprob} dicts from `start` on, as JSON (null if none)."""
    if logprobs is None:
        return "null"
    positions = list(logprobs)[start:]
    return json.dumps(
        [
            {
                str(token): {"logprob": p.logprob, "rank": p.rank, "decoded_token": p.decoded_token}
                for token, p in position.items()
            }
            for position in positions
        ]
    )


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    """Logs what escaped a request's coroutine (e.g. a failed send), which nobody awaits."""
    if not future.cancelled() and future.exception() is not None:
        pb_utils.Logger.log_error(f"vLLM model: request failed: {future.exception()!r}")


@dataclasses.dataclass
class _Job:
    request_id: str
    prompt: str
    stream: bool
    echo: bool
    params: Any
    lora: Any
    want: dict[str, bool]
    arrival: float = dataclasses.field(default_factory=time.monotonic)


class _Metrics:
    """The vllm:* families of the upstream backend, measured here from each request's outputs."""

    def __init__(self, labels: dict[str, str], max_model_len: int) -> None:
        kinds = {"c": pb_utils.MetricFamily.COUNTER, "h": pb_utils.MetricFamily.HISTOGRAM}
        tokens = _one_two_five(max_model_len)
        specs = {  # key: (kind, name, help, buckets)
            "prompt": ("c", "vllm:prompt_tokens_total", "Prefill tokens processed.", None),
            "gen": ("c", "vllm:generation_tokens_total", "Generation tokens processed.", None),
            "ttft": ("h", "vllm:time_to_first_token_seconds", "First token.", _TTFT_BUCKETS),
            "tpot": ("h", "vllm:time_per_output_token_seconds", "Time per token.", _TPOT_BUCKETS),
            "e2e": ("h", "vllm:e2e_request_latency_seconds", "Request latency.", _E2E_BUCKETS),
            "req_prompt": ("h", "vllm:request_prompt_tokens", "Prompt tokens.", tokens),
            "req_gen": ("h", "vllm:request_generation_tokens", "Generated tokens.", tokens),
            "n": ("h", "vllm:request_params_n", "The n request parameter.", _N_BUCKETS),
        }
        self._families: list[Any] = []
        self._metrics: dict[str, Any] = {}
        for key, (kind, name, doc, buckets) in specs.items():
            family = pb_utils.MetricFamily(name=name, description=doc, kind=kinds[kind])
            self._families.append(family)
            extra = {} if buckets is None else {"buckets": buckets}
            self._metrics[key] = family.Metric(labels=labels, **extra)
        self._ops: queue.SimpleQueue[tuple[str, float] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._apply, name="vllm-metrics", daemon=True)
        self._thread.start()

    def add(self, key: str, value: float) -> None:
        """Counts or observes `value` later, off the caller's thread."""
        self._ops.put((key, value))

    def _apply(self) -> None:
        while (op := self._ops.get()) is not None:
            metric = self._metrics[op[0]]
            if op[0] in ("prompt", "gen"):
                metric.increment(op[1])
            else:
                metric.observe(op[1])

    def close(self) -> None:
        self._ops.put(None)
        self._thread.join()
        # Triton requires every Metric to go before its MetricFamily.
        self._metrics.clear()
        self._families.clear()


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        locale.setlocale(locale.LC_ALL, "")  # the stub does not; torch needs a UTF-8 locale
        config = json.loads(args["model_config"])
        if not pb_utils.using_decoupled_model_transaction_policy(config):
            raise RuntimeError(
                "vLLM Triton backend must be configured to use decoupled model transaction policy"
            )
        from vllm import SamplingParams
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.sampling_params import RequestOutputKind
        from vllm.v1.engine.async_llm import AsyncLLM

        folder = os.path.join(args["model_repository"], args["model_version"])
        with open(os.path.join(folder, "model.json"), encoding="utf-8") as file:
            engine_json: dict[str, Any] = json.load(file)
        known = {field.name for field in dataclasses.fields(AsyncEngineArgs)}
        for key in engine_json:
            if key not in known:
                raise ValueError(
                    f"model.json: unknown engine argument '{key}' (not in vLLM AsyncEngineArgs)"
                )
        engine_args = AsyncEngineArgs(**engine_json)
        self._loras: dict[str, str] | None = None
        if str(engine_json.get("enable_lora", "")).lower() == "true":
            with open(os.path.join(folder, "multi_lora.json"), encoding="utf-8") as file:
                self._loras = json.load(file)

        self._sampling_params = SamplingParams
        # Cumulative outputs: the whole text when not streaming, deltas by slicing when streaming.
        self._output_kind = RequestOutputKind.CUMULATIVE
        hints = typing.get_type_hints(SamplingParams)
        self._sampling_hints = {
            name: hints.get(name)
            for name in SamplingParams.__struct_fields__
            if not name.startswith("_") and name != "output_kind"
        }
        self._ids = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vllm-loop")
        self._thread.daemon = True
        self._thread.start()

        async def build() -> Any:
            # Built on the loop so that AsyncLLM's output handler runs there.
            return AsyncLLM.from_engine_args(engine_args)

        try:
            self._engine = asyncio.run_coroutine_threadsafe(build(), self._loop).result()
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise
        self._metrics: _Metrics | None = None
        report = config.get("parameters", {}).get("REPORT_CUSTOM_METRICS", {})
        if report.get("string_value", "").lower() == "true" and not engine_args.disable_log_stats:
            labels = {"model": args["model_name"], "version": args["model_version"]}
            self._metrics = _Metrics(labels, self._engine.model_config.max_model_len)

    def execute(self, requests: list[Any]) -> None:
        for request in requests:
            sender = request.get_response_sender()
            try:
                job = self._parse(request)
            except Exception as exc:  # a bad request fails alone, in-band
                sender.send(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc))), _FINAL
                )
                continue
            future = asyncio.run_coroutine_threadsafe(self._serve(job, sender), self._loop)
            future.add_done_callback(_log_failure)

    def _parse(self, request: Any) -> _Job:
        text = pb_utils.get_input_tensor_by_name(request, "text_input").as_numpy().reshape(-1)[0]
        prompt = text.decode("utf-8") if isinstance(text, bytes) else str(text)
        stream = bool(_bool_input(request, "stream"))
        exclude = _bool_input(request, "exclude_input_in_output")
        if stream and exclude is False:
            raise ValueError("When streaming, `exclude_input_in_output` = False is not allowed.")
        tensor = pb_utils.get_input_tensor_by_name(request, "sampling_parameters")
        if tensor is None:
            raw = json.loads(request.parameters() or "{}")
        else:
            value = tensor.as_numpy().reshape(-1)[0]
            raw = json.loads(value.decode("utf-8") if isinstance(value, bytes) else value)
        if not isinstance(raw, dict):
            raise ValueError("sampling_parameters must be a JSON object")
        lora = self._lora(raw.pop("lora_name", None))
        kwargs: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in self._sampling_hints:
                raise ValueError(f"unknown sampling parameter '{key}' (not in vLLM SamplingParams)")
            kwargs[key] = _cast(key, value, self._sampling_hints[key])
        params = self._sampling_params(**kwargs, output_kind=self._output_kind)
        want = {flag: bool(_bool_input(request, flag)) for flag in _FLAGS}
        echo = not stream and not exclude
        return _Job(f"triton-{next(self._ids)}", prompt, stream, echo, params, lora, want)

    def _lora(self, name: str | None) -> Any:
        if name is None:
            return None
        if self._loras is None:
            raise ValueError("LoRA feature is not enabled.")
        if name not in self._loras:
            raise ValueError(
                f"LoRA {name} is not supported, we currently support {list(self._loras)}"
            )
        from vllm.lora.request import LoRARequest

        return LoRARequest(name, list(self._loras).index(name) + 1, self._loras[name])

    async def _serve(self, job: _Job, sender: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        serving = task
        cancelled = False

        async def watch() -> None:
            nonlocal cancelled
            while True:  # is_cancelled() is a poll; Triton offers no callback
                await asyncio.sleep(_CANCEL_POLL_S)
                if sender.is_cancelled():
                    break
            cancelled = True
            serving.cancel()  # raises CancelledError in the wait for the first output

        watchdog = asyncio.create_task(watch())
        sent: dict[int, tuple[int, int]] = {}  # completion index -> (chars, tokens) already sent
        last = job.arrival
        outputs = self._engine.generate(
            job.prompt, job.params, job.request_id, lora_request=job.lora
        )
        try:
            async for out in outputs:
                now, first = time.monotonic(), not sent
                watchdog.cancel()
                if sender.is_cancelled():
                    cancelled = True
                    break
                new = {
                    c.index: len(c.token_ids) - sent.get(c.index, (0, 0))[1] for c in out.outputs
                }
                self._observe(job, out, first, now - last, sum(new.values()))
                last = now
                if job.stream or out.finished:
                    sender.send(self._response(job, out, sent), _FINAL if out.finished else 0)
                for c in out.outputs:
                    sent[c.index] = (len(c.text), len(c.token_ids))
                if out.finished:
                    return
            if not cancelled:
                sender.send(flags=_FINAL)
        except asyncio.CancelledError:
            if not cancelled:
                raise
        except Exception as exc:
            cause = exc.__cause__ or exc
            pb_utils.Logger.log_warn(f"vLLM model: {job.request_id} failed: {cause!r}")
            error = pb_utils.TritonError(f"Error generating stream: {cause}")
            sender.send(pb_utils.InferenceResponse(error=error), _FINAL)
        finally:
            watchdog.cancel()
            await outputs.aclose()
            if cancelled:
                await self._engine.abort(job.request_id)
                pb_utils.Logger.log_info(f"vLLM model: {job.request_id} cancelled, aborted")
                error = pb_utils.TritonError(
                    "Request was cancelled", pb_utils.TritonError.CANCELLED
                )
                sender.send(pb_utils.InferenceResponse(error=error), _FINAL)

    def _observe(self, job: _Job, out: Any, first: bool, gap: float, new_tokens: int) -> None:
        metrics = self._metrics
        if metrics is None:
            return
        if first:
            metrics.add("prompt", len(out.prompt_token_ids or ()))
            metrics.add("ttft", gap)
        elif new_tokens:
            for _ in range(new_tokens):  # one observation per token, as vLLM does
                metrics.add("tpot", gap / new_tokens)
        if new_tokens:
            metrics.add("gen", new_tokens)
        if out.finished:
            metrics.add("e2e", time.monotonic() - job.arrival)
            metrics.add("req_prompt", len(out.prompt_token_ids or ()))
            metrics.add("req_gen", sum(len(c.token_ids) for c in out.outputs))
            metrics.add("n", job.params.n)

    def _response(self, job: _Job, out: Any, sent: dict[int, tuple[int, int]]) -> Any:
        """One response: deltas past `sent` when streaming, the whole completion otherwise."""
        done = {c.index: sent.get(c.index, (0, 0)) if job.stream else (0, 0) for c in out.outputs}
        texts = [c.text[done[c.index][0] :] for c in out.outputs]
        if job.echo:
            texts = [job.prompt + text for text in texts]
        tensors = [pb_utils.Tensor("text_output", np.asarray(texts, dtype=np.object_))]
        want = job.want
        if want["return_finish_reason"]:
            reasons = [str(c.finish_reason) for c in out.outputs]
            tensors.append(pb_utils.Tensor("finish_reason", np.asarray(reasons, dtype=np.object_)))
        if want["return_cumulative_logprob"]:
            values = [
                math.nan if c.cumulative_logprob is None else c.cumulative_logprob
                for c in out.outputs
            ]
            cumulative = np.asarray(values, dtype=np.float32)
            tensors.append(pb_utils.Tensor("cumulative_logprob", cumulative))
        if want["return_logprobs"]:
            logprobs = [_logprobs_json(c.logprobs, done[c.index][1]) for c in out.outputs]
            tensors.append(pb_utils.Tensor("logprobs", np.asarray(logprobs, dtype=np.object_)))
        if want["return_num_input_tokens"]:
            count = np.asarray([len(out.prompt_token_ids or ())], dtype=np.uint32)
            tensors.append(pb_utils.Tensor("num_input_tokens", count))
        if want["return_num_output_tokens"]:
            counts = [len(c.token_ids) - done[c.index][1] for c in out.outputs]
            tensors.append(pb_utils.Tensor("num_output_tokens", np.asarray(counts, np.uint32)))
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def finalize(self) -> None:
        async def stop() -> None:
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            if tasks:  # let aborted requests unwind while the engine still runs
                await asyncio.wait(tasks, timeout=10)
            self._engine.shutdown()

        if getattr(self, "_engine", None) is not None:
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=120)
            # Drop the engine now: its __del__ shuts down again, which fails at interpreter exit.
            self._engine = None
            gc.collect()
        if getattr(self, "_loop", None) is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        metrics = getattr(self, "_metrics", None)
        if metrics is not None:
            metrics.close()
