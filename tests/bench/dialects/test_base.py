"""What every dialect promises, checked on each one a target URL can name (a new dialect gets
these for free), and the helpers they share."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace

import pytest

from crossfade.bench.dialects.base import Dialect, chat_prompt, error_body_text
from crossfade.bench.targets import SCHEMES, parse_target
from tests.conftest import ROOT
from tests.support.generation import CAPPED, STREAMED, WHOLE

DIALECTS = sorted({scheme.dialect for scheme in SCHEMES.values()}, key=lambda d: d.name)
GRPC = {scheme.dialect for scheme in SCHEMES.values() if scheme.transport == "triton-grpc"}


@pytest.fixture(params=DIALECTS, ids=lambda d: d.name)
def dialect(request: pytest.FixtureRequest) -> Dialect:
    kind: type[Dialect] = request.param
    return kind("some-model", "/v1")


def test_names_and_engines() -> None:
    assert len({d.name for d in DIALECTS}) == len(DIALECTS)
    assert all(d.engine in (None, "vllm", "tensorrtllm") for d in DIALECTS)


def test_payloads_are_strict_json_and_carry_the_request(dialect: Dialect) -> None:
    for request in (STREAMED, WHOLE, CAPPED, replace(STREAMED, sampling={"temperature": 0.5})):
        payload = dialect.payload(request)
        text = json.dumps(payload, allow_nan=False)
        assert request.prompt in text
        assert f": {request.max_tokens}" in text
    assert dialect.payload(STREAMED) != dialect.payload(replace(STREAMED, stream=False))
    if dialect.forces_length:  # the exact length says more than the cap
        assert dialect.payload(STREAMED) != dialect.payload(CAPPED)


def test_paths_are_absolute(dialect: Dialect) -> None:
    for path in (dialect.path(stream=True), dialect.path(stream=False), dialect.ready_path()):
        assert path.startswith("/")
        assert " " not in path


def test_an_unread_model_changes_nothing(dialect: Dialect) -> None:
    async def unread() -> frozenset[str] | None:
        return None

    assert asyncio.run(dialect.opened(unread)) == dialect


def test_grpc_tensors_where_a_grpc_scheme_names_the_dialect(dialect: Dialect) -> None:
    if type(dialect) in GRPC:
        names = {t.name for t in dialect.grpc_inputs(STREAMED)}
        assert "text_input" in names
        assert names & {"stream", "streaming"}  # the LLM API model calls it `streaming`
    else:
        with pytest.raises(TypeError, match="no gRPC form"):
            dialect.grpc_inputs(STREAMED)


def test_a_target_speaks_its_schemes_dialect_for_its_model() -> None:
    for scheme, entry in SCHEMES.items():
        query = "/v1?model=m" if entry.transport == "openai" else "/m"
        spec = parse_target(f"{scheme}://h{query}")
        assert type(spec.dialect) is entry.dialect
        assert (spec.dialect.model, spec.dialect.name) == ("m", entry.dialect.name)


def test_nothing_decides_by_a_dialects_name() -> None:
    """The bench and the router ask the dialect object; no ladder on its name."""
    ladder = re.compile(r"dialect(\.name)?\s*(==|!=|\bin\b|\bnot in\b)")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("bench", "rollout", "advise")
        for path in sorted((ROOT / "src" / "crossfade" / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if ladder.search(line)
    ]
    assert found == []


def test_chat_prompt_is_a_transcript() -> None:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert chat_prompt(messages) == "system: s\nuser: u\nassistant:"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"error":"Request for unknown model: \'x\' is not found"}', "Request for unknown"),
        (b'data: {"error":"unknown sampling parameter \'bogus\'"}\n\n', "unknown sampling"),
        (b'{"error":{"message":"The model `x` does not exist.","code":404}}', "The model `x`"),
        (b"<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        (b"", "(empty body)"),
    ],
)
def test_error_body_text(body: bytes, text: str) -> None:
    assert error_body_text(body).startswith(text)
