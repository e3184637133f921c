"""Answers in the shape of TensorRT-LLM's LLM API model in Triton, whatever backend produced them.

That model's `text_output` is the text generated so far, not the step's new part (the LLM API's
`CompletionOutput.text` is cumulative): a client takes as new what goes beyond what it already
has. The router receives each backend's output as new parts, so this encoder keeps the answer's
text so far, already JSON-escaped (escaping is per character, so the escaped whole is the
escaped parts joined), and writes it whole in every response: no task and no re-encoding of
earlier text per step, only the copy the shape itself asks for.

Responses as the model sends them through Triton's generate extension: with `streaming: true`,
one per step (each a `data:` event on /generate_stream), else one with the whole text (an event
on /generate_stream, the body on /generate). `return_finish_reason` adds `finish_reason`,
"None" until the end, as the model writes a missing reason. The router learns that a stream
ended only when its backend's stream does, so the reason comes in one more response holding
the same whole text (nothing new for the client), where the model would have put it in the
response of the last step. `sampling_param_return_perf_metrics` adds the backend's own
timestamps, `arrival_time_ns`, `first_scheduled_time_ns`, `first_token_time_ns` and
`last_token_time_ns`, as strings of digits (upstream's model builds them with text_output's
string type), when the backend reports them (an LLM API model does; other backends have no such
clock, and the fields are left out rather than made up).

An error once the stream started is the model's: `data: {"error": "Error generating request:
..."}`, which ends the stream.
"""

from __future__ import annotations

from typing import Any

from crossfade.rollout.router.front import CanonicalRequest
from crossfade.rollout.router.sse_out import Times, open_object, sse, text_json

NOT_YET = "None"  # the model's finish_reason before the end: str() of Python's None
ERROR_PREFIX = "Error generating request: "  # the model's own, before its error's message


class LlmApiReply:
    def __init__(self, request: CanonicalRequest) -> None:
        self.request = request
        flags = request.reply.flags
        self.reasons = "return_finish_reason" in flags
        self.perf = "sampling_param_return_perf_metrics" in flags
        self.incremental = request.reply.incremental
        self.head = {"model_name": request.model, "model_version": "1"}
        self._before_text = open_object(self.head) + b',"text_output":"'
        self._not_yet = _reason_json(NOT_YET) if self.reasons else b""
        self._so_far = bytearray()  # the text so far, JSON-escaped, without its quotes

    def event(
        self, text: str, tokens: int, total: int, input_tokens: int | None, times: Times = None
    ) -> bytes:
        if text:
            self._so_far += text_json(text).encode()[1:-1]
        if not self.incremental:
            return b""  # one response, at the end
        return self._response_event(self._not_yet, times)

    def finish(self, total: int, input_tokens: int | None, times: Times = None) -> bytes:
        if not self.reasons:
            # The end of the body is the end marker, as from Triton; a single response is due
            return b"" if self.incremental else self._response_event(b"", times)
        return self._response_event(_reason_json(self.request.finish_reason(total)), times)

    def error_event(self, message: str, status: int) -> bytes:
        return sse(self.error_body(ERROR_PREFIX + message, status))

    def whole(
        self, text: str, total: int, input_tokens: int | None, times: Times = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {**self.head, "text_output": text}
        if self.reasons:
            body["finish_reason"] = self.request.finish_reason(total)
        if self.perf and times is not None:
            body["arrival_time_ns"] = str(times.arrival_ns)
            body["first_scheduled_time_ns"] = str(times.first_scheduled_ns)
            body["first_token_time_ns"] = str(times.first_token_ns)
            body["last_token_time_ns"] = str(times.last_token_ns)
        return body

    def error_body(self, message: str, status: int) -> dict[str, Any]:
        return {"error": message}

    def _response_event(self, reason: bytes, times: Times) -> bytes:
        """One response with the text so far: the same bytes as `sse(whole(...))`
        (tests/rollout/router/test_reply_llmapi.py)."""
        out = b"".join((self._before_text, self._so_far, b'"', reason))
        if self.perf and times is not None:
            out += _TIMES % (
                times.arrival_ns,
                times.first_scheduled_ns,
                times.first_token_ns,
                times.last_token_ns,
            )
        return out + b"}\n\n"


_TIMES = (
    b',"arrival_time_ns":"%d","first_scheduled_time_ns":"%d","first_token_time_ns":"%d",'
    b'"last_token_time_ns":"%d"'
)


def _reason_json(reason: str) -> bytes:
    return b',"finish_reason":"%s"' % reason.encode()
