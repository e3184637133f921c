"""Shared pieces of the spec models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError


class StrictModel(BaseModel):
    """Base of every spec model.

    Unknown keys are rejected: a misspelled key (``max_batch_szie``) must fail loudly instead of
    vanishing into a default that nobody asked for. Models are frozen because a spec is a value
    the renderers read, never a thing they change.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def key_error(key: str, message: str, *, hint: str | None = None) -> PydanticCustomError:
    """An error about one key inside a mapping field (e.g. one vLLM engine argument).

    The loader reads ``ctx["key"]`` to point at that key's own line instead of the mapping's.
    """
    ctx: dict[str, str] = {"key": key, "hint": hint or ""}
    return PydanticCustomError("bad_key", message, ctx)
