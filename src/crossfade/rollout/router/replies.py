"""Answers in the client's API, whatever backend produced them: the neutral pieces a backend's
stream was parsed into (`ParsedEvent`s of `bench.dialects`, counted by `bench.tally`) re-encoded as
OpenAI chunks, Triton generate events or the LLM API model's responses (`LlmApiReply`), whole
bodies, and errors.

The end of a stream is written by the router, not copied from the backend (a TensorRT-LLM stream
has no final event, a vLLM one has): OpenAI gets a chunk with the finish reason, the usage chunk
when asked, and `data: [DONE]`; a Triton client that asked `return_finish_reason` gets an empty
event with it (the vLLM backend's end marker), others the end of the body. The finish reason is
"length" when the output reached `max_tokens`, else "stop" (`CanonicalRequest.finish_reason`).

A failure after the stream started ends it with an in-band error in the client's dialect
(OpenAI: `data: {"error": {...}}` and no [DONE]; Triton: `data: {"error": "..."}`), so the client
sees a failed request, never a stream that merely stopped.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Protocol

from crossfade.rollout.router.front import Api, CanonicalRequest
from crossfade.rollout.router.reply_llmapi import LlmApiReply
from crossfade.rollout.router.sse_out import DONE, Times, open_object, sse, text_json


class Reply(Protocol):
    """One client's answer shape. `times`: the backend's own clock, when it reports it (the
    LLM API model does); only the LLM API shape has a place for it."""

    def event(
        self, text: str, tokens: int, total: int, input_tokens: int | None, times: Times
    ) -> bytes:
        """One step's output (b"": nothing to send for it)."""

    def finish(self, total: int, input_tokens: int | None, times: Times) -> bytes: ...

    def error_event(self, message: str, status: int) -> bytes: ...

    def whole(
        self, text: str, total: int, input_tokens: int | None, times: Times
    ) -> dict[str, Any]: ...

    def error_body(self, message: str, status: int) -> dict[str, Any]: ...


def reply_for(request: CanonicalRequest) -> Reply:
    if request.api == "triton":
        return TritonReply(request)
    if request.api == "llmapi":
        return LlmApiReply(request)
    return OpenAIReply(request)


def error_body(api: Api, message: str, status: int) -> dict[str, Any]:
    """An error answer in the client's API (also for requests that could not be parsed)."""
    if api in ("triton", "llmapi"):
        return {"error": message}
    kind = "invalid_request_error" if 400 <= status < 500 and status != 429 else "router_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": status}}


class OpenAIReply:
    def __init__(self, request: CanonicalRequest) -> None:
        self.request = request
        self.chat = request.api == "chat"
        prefix = "chatcmpl" if self.chat else "cmpl"
        self.head: dict[str, Any] = {
            "id": f"{prefix}-{secrets.token_hex(16)}",  # as uuid4().hex: 0.8 µs, not 4.9
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": int(time.time()),
            "model": request.model,
        }
        self._first = True
        start = open_object(self.head)
        if self.chat:
            self._before_text = start + b',"choices":[{"index":0,"delta":{"content":'
            self._after_text = b'},"logprobs":null,"finish_reason":null}]'
        else:
            self._before_text = start + b',"choices":[{"index":0,"text":'
            self._after_text = b',"logprobs":null,"finish_reason":null}]'

    def _usage(self, total: int, input_tokens: int | None) -> dict[str, Any]:
        prompt = input_tokens
        return {
            "prompt_tokens": prompt,
            "completion_tokens": total,
            "total_tokens": None if prompt is None else prompt + total,
        }

    def _choice(self, text: str, reason: str | None) -> dict[str, Any]:
        if not self.chat:
            return {"index": 0, "text": text, "logprobs": None, "finish_reason": reason}
        delta: dict[str, Any] = {"content": text} if text else {}
        if self._first:
            delta["role"] = "assistant"
            self._first = False
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}

    def _chunk(self, text: str, reason: str | None, total: int, inputs: int | None) -> bytes:
        chunk = {**self.head, "choices": [self._choice(text, reason)]}
        if self.request.reply.continuous_usage:
            chunk["usage"] = self._usage(total, inputs)
        return sse(chunk)

    def event(
        self, text: str, tokens: int, total: int, input_tokens: int | None, times: Times = None
    ) -> bytes:
        if (self.chat and self._first) or not (text or not self.chat):
            return self._chunk(text, None, total, input_tokens)
        # The common case, from the fixed start: only the text and the counts are encoded.
        out = self._before_text + text_json(text).encode() + self._after_text
        if not self.request.reply.continuous_usage:
            return out + b"}\n\n"
        prompt = b"null" if input_tokens is None else b"%d" % input_tokens
        both = b"null" if input_tokens is None else b"%d" % (input_tokens + total)
        usage = b'"prompt_tokens":%s,"completion_tokens":%d,"total_tokens":%s' % (
            prompt,
            total,
            both,
        )
        return out + b',"usage":{' + usage + b"}}\n\n"

    def finish(self, total: int, input_tokens: int | None, times: Times = None) -> bytes:
        reason = self.request.finish_reason(total)
        out = self._chunk("", reason, total, input_tokens)
        if self.request.reply.include_usage:
            out += sse({**self.head, "choices": [], "usage": self._usage(total, input_tokens)})
        return out + DONE

    def error_event(self, message: str, status: int) -> bytes:
        return sse(self.error_body(message, status))

    def whole(
        self, text: str, total: int, input_tokens: int | None, times: Times = None
    ) -> dict[str, Any]:
        reason = self.request.finish_reason(total)
        if self.chat:
            message = {"role": "assistant", "content": text}
            choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": reason}
        else:
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": reason}
        head = {**self.head, "object": "chat.completion" if self.chat else "text_completion"}
        return {**head, "choices": [choice], "usage": self._usage(total, input_tokens)}

    def error_body(self, message: str, status: int) -> dict[str, Any]:
        return error_body(self.request.api, message, status)


class TritonReply:
    def __init__(self, request: CanonicalRequest) -> None:
        self.request = request
        self.flags = request.reply.flags
        self.head = {"model_name": request.model, "model_version": "1"}
        self._before_text = open_object(self.head) + b',"text_output":'
        self._output_count = "return_num_output_tokens" in self.flags
        self._input_count = "return_num_input_tokens" in self.flags

    def _counts(self, tokens: int, input_tokens: int | None) -> dict[str, Any]:
        counts: dict[str, Any] = {}
        if "return_num_output_tokens" in self.flags:
            counts["num_output_tokens"] = tokens
        if "return_num_input_tokens" in self.flags and input_tokens is not None:
            counts["num_input_tokens"] = input_tokens
        return counts

    def event(
        self, text: str, tokens: int, total: int, input_tokens: int | None, times: Times = None
    ) -> bytes:
        out = self._before_text + text_json(text).encode()
        if self._output_count:
            out += b',"num_output_tokens":%d' % tokens
        if self._input_count and input_tokens is not None:
            out += b',"num_input_tokens":%d' % input_tokens
        return out + b"}\n\n"

    def finish(self, total: int, input_tokens: int | None, times: Times = None) -> bytes:
        if "return_finish_reason" not in self.flags:
            return b""  # the end of the body is the end marker, as for a TensorRT-LLM stream
        reason = self.request.finish_reason(total)
        counts = self._counts(0, input_tokens)
        return sse({**self.head, "text_output": "", "finish_reason": reason, **counts})

    def error_event(self, message: str, status: int) -> bytes:
        return sse(self.error_body(message, status))

    def whole(
        self, text: str, total: int, input_tokens: int | None, times: Times = None
    ) -> dict[str, Any]:
        body = {**self.head, "text_output": text, **self._counts(total, input_tokens)}
        if "return_finish_reason" in self.flags:
            body["finish_reason"] = self.request.finish_reason(total)
        return body

    def error_body(self, message: str, status: int) -> dict[str, Any]:
        return error_body(self.request.api, message, status)
