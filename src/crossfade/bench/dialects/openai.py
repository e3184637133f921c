"""OpenAI-compatible `/completions` and `/chat/completions` (vLLM's server, and others).

Exact output length N: `max_tokens = min_tokens = N` and `ignore_eos` (vLLM's extensions). A
stream ends with a choice's `finish_reason` or `data: [DONE]`. Streams ask for usage in every
chunk (`continuous_usage_stats`), so that chunks are counted without a tokenizer where the
server has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crossfade.bench.dialects.base import (
    Dialect,
    GenerationRequest,
    ParsedEvent,
    error_message,
    length_sampling,
    whole,
)

OPENAI_STREAM_OPTIONS = {"include_usage": True, "continuous_usage_stats": True}


@dataclass(frozen=True)
class OpenAIDialect(Dialect):
    """What completions and chat share; `endpoint` is the path below the API prefix."""

    engine = None  # an OpenAI-compatible server may run any engine
    endpoint = ""

    def path(self, stream: bool) -> str:
        return f"{self.base_path}/{self.endpoint}"

    def ready_path(self) -> str:
        return f"{self.base_path.removesuffix('/v1')}/health"  # vLLM serves it beside /v1

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        payload: dict[str, Any] = {
            **request.sampling,
            "model": self.model,
            **length_sampling(request),
            "stream": request.stream,
        }
        if request.stream:  # servers reject stream_options on a non-streamed request
            payload["stream_options"] = dict(OPENAI_STREAM_OPTIONS)
        return payload


@dataclass(frozen=True)
class OpenAICompletions(OpenAIDialect):
    name = "completions"
    endpoint = "completions"

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        return {**super().payload(request), "prompt": request.prompt}

    def parse(self, event: Mapping[str, Any]) -> ParsedEvent:
        """A stream chunk or a whole response."""
        return _openai_event(event, _completion_text)


@dataclass(frozen=True)
class OpenAIChat(OpenAIDialect):
    name = "chat"
    endpoint = "chat/completions"

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        """The request's messages whole, or its prompt as one user message."""
        messages = request.messages or [{"role": "user", "content": request.prompt}]
        return {**super().payload(request), "messages": [dict(m) for m in messages]}

    def parse(self, event: Mapping[str, Any]) -> ParsedEvent:
        """A stream chunk or a whole response."""
        return _openai_event(event, _chat_text)


def _openai_event(event: Mapping[str, Any], text_of: Any) -> ParsedEvent:
    if (error := error_message(event)) is not None:
        return ParsedEvent(error=error, final=True)
    usage = event.get("usage") or {}
    cumulative, prompt = usage.get("completion_tokens"), usage.get("prompt_tokens")
    choices = event.get("choices") or []
    choice = choices[0] if choices else {}
    return ParsedEvent(
        text=text_of(choice) if choice else "",
        cumulative_tokens=None if cumulative is None else whole(cumulative),
        final=choice.get("finish_reason") is not None,
        input_tokens=None if prompt is None else whole(prompt),
        summary=not choices,
    )


def _completion_text(choice: Mapping[str, Any]) -> str:
    return str(choice.get("text") or "")


def _chat_text(choice: Mapping[str, Any]) -> str:
    message = choice.get("delta") or choice.get("message") or {}
    # Reasoning is output too: it costs tokens and time before any answer text.
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    return str(reasoning) + str(message.get("content") or "")
