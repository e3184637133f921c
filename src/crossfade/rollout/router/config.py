"""The router's YAML config (`crossfade route CONFIG`), validated with every problem located.
Every key, its default and what it does: docs/router.md; an example: `crossfade route --help`.
Port 0 asks for any free port (the router reports the one it got)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from crossfade.bench.targets import TargetSpec, parse_target
from crossfade.errors import SpecError, SpecProblem, UsageError
from crossfade.spec.base import StrictModel
from crossfade.spec.located import Lines, compose, read_text, validate_located
from crossfade.spec.suggest import did_you_mean


class Listener(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(18800, ge=0, le=65535)


class AdminListener(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(18801, ge=0, le=65535)
    token_env: str = Field(
        "CROSSFADE_ADMIN_TOKEN", min_length=1, description="environment variable with the token"
    )


class BackendConfig(StrictModel):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    target: str
    weight: float = Field(1.0, ge=0, description="relative share of traffic")

    @field_validator("target")
    @classmethod
    def _routable(cls, url: str) -> str:
        try:
            spec = parse_target(url)
        except UsageError as exc:  # located by pydantic when raised as a ValueError
            raise ValueError(str(exc)) from None
        if spec.transport == "triton-grpc":
            http = spec.scheme.replace("triton-grpc-", "triton-", 1)
            raise ValueError(
                f"the router forwards over HTTP; name the Triton HTTP port with {http}://"
            )
        return url

    @property
    def spec(self) -> TargetSpec:
        return parse_target(self.target, self.name)


class Sticky(StrictModel):
    header: str | None = Field(None, min_length=1)
    field: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_key(self) -> Sticky:
        if (self.header is None) == (self.field is None):
            raise ValueError(
                "give exactly one of header: (a request header) or field: (a body key)"
            )
        return self


class Health(StrictModel):
    interval_s: float = Field(2.0, gt=0)
    eject_after_failures: int = Field(3, ge=1)
    restore_after_successes: int = Field(2, ge=1)


class Shadow(StrictModel):
    backend: str | None = None
    share: float = Field(0.0, ge=0, le=1)


class Timeouts(StrictModel):
    """How long an upstream may stay silent, and how long a whole answer may take. A backend
    whose process died can leave its streams open with nothing more to come (Triton does, when a
    python-backend stub is killed); one that ignores max_tokens never stops."""

    first_token_s: float = Field(
        60.0, gt=0, description="from sending to the first token; then the next backend is tried"
    )
    idle_s: float = Field(
        30.0, gt=0, description="between tokens; then the stream fails in-band for the client"
    )
    total_s: float = Field(
        600.0,
        gt=0,
        description="from the client's request to the end of its answer, every backend tried "
        "included; then a stream fails in-band and a whole answer is a 504",
    )


# Which request and answer shape clients of a Triton model name speak at /v2/models/NAME/...:
# `generate`, the fields of the vLLM backend and the TensorRT-LLM ensemble (text_output: each
# step's new text), or `llmapi`, TensorRT-LLM's LLM API model (text_input, streaming,
# sampling_param_*; text_output: the text so far). Upstream names that model `tensorrt_llm`.
TritonFront = Literal["generate", "llmapi"]
DEFAULT_TRITON_FRONTS: dict[str, TritonFront] = {"tensorrt_llm": "llmapi"}


class RouterConfig(StrictModel):
    version: Literal[1]
    listen: Listener = Listener()
    admin: AdminListener = AdminListener()
    backends: list[BackendConfig] = Field(min_length=1)
    sticky: Sticky | None = None
    health: Health = Health()
    shadow: Shadow | None = None
    timeouts: Timeouts = Timeouts()
    triton_fronts: dict[str, TritonFront] = Field(
        default_factory=dict,
        description="a Triton model name -> the shape its clients speak, over the defaults "
        "(tensorrt_llm: llmapi; any other name: generate)",
    )

    def triton_front(self, model: str) -> TritonFront:
        """The shape clients of Triton model `model` speak."""
        return self.triton_fronts.get(model, DEFAULT_TRITON_FRONTS.get(model, "generate"))

    @model_validator(mode="after")
    def _names(self) -> RouterConfig:
        names = [b.name for b in self.backends]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"backend name {name!r} is used twice; names must be unique")
        if self.shadow and self.shadow.backend and self.shadow.backend not in names:
            hint = did_you_mean(self.shadow.backend, names) or f"one of {names}"
            raise ValueError(f"shadow.backend {self.shadow.backend!r} is not a backend ({hint})")
        for model in self.triton_fronts:
            if not model or "/" in model:
                raise ValueError(f"triton_fronts: {model!r} is not a Triton model name")
        same = (self.listen.host, self.listen.port) == (self.admin.host, self.admin.port)
        if same and self.admin.port != 0:
            raise ValueError("admin must listen on another port than listen (it is bound apart)")
        return self


def load_router_config(path: str | Path) -> RouterConfig:
    """Read and validate a router config; SpecError names the file, the line, the field and
    the fix."""
    data, lines = compose(read_text(path), str(path))
    return parse_router_config(data, str(path), lines)


def parse_router_config(
    data: Any, filename: str = "<router config>", lines: Lines | None = None
) -> RouterConfig:
    if not isinstance(data, dict):
        problem = SpecProblem(filename, 1, "", "a router config is a mapping (version: 1, ...)")
        raise SpecError([problem])
    return validate_located(data, lines or {}, RouterConfig, filename)
