"""The router config's loader: the contract's example loads, and every error names the file, the
field and the fix; `crossfade route --check` validates without serving."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from crossfade.cli import main
from crossfade.errors import SpecError
from crossfade.rollout.router.config import RouterConfig, load_router_config, parse_router_config
from tests.support.router_inputs import router_config_example

BACKENDS = [
    {"name": "vllm-triton", "target": "triton-vllm://127.0.0.1:18000/vllm_model", "weight": 100},
    {"name": "trtllm-ensemble", "target": "triton-trtllm://127.0.0.1:18000/ensemble", "weight": 0},
]


def config(**extra: Any) -> dict[str, Any]:
    return {"version": 1, "backends": BACKENDS, **extra}


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        (config(listen={"prot": 1}), "listen.prot", "did you mean 'port'"),
        (config(shadow={"backend": "trtlm-ensemble"}), "", "(did you mean 'trtllm-ensemble'?)"),
        (config(sticky={}), "sticky", "exactly one of header"),
        ({"version": 1, "backends": [{**BACKENDS[0], "weight": -1}]},
         "backends[0].weight", "greater than or equal to 0"),
        ({"version": 1, "backends": [BACKENDS[0], BACKENDS[0]]}, "", "used twice"),
        ({"version": 1, "backends": [{**BACKENDS[0], "target": "triton-grpc-vllm://h/m"}]},
         "backends[0].target", "over HTTP"),
        ({"version": 1, "backends": [{**BACKENDS[0], "target": "http://h"}]},
         "backends[0].target", "unknown scheme"),
        ({"version": 2, "backends": BACKENDS}, "version", "1"),
    ],
)  # fmt: skip
def test_config_errors_name_the_field_and_the_fix(data: Any, field: str, says: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_router_config(data, "router.yaml")
    text = str(caught.value)
    assert text.startswith("router.yaml: ")
    assert field in text
    assert says in text


def test_the_contract_example_loads_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "router.yaml"
    path.write_text(
        "version: 1\n"
        "listen: {host: 127.0.0.1, port: 18800}\n"
        "admin: {host: 127.0.0.1, port: 18801, token_env: CROSSFADE_ADMIN_TOKEN}\n"
        "backends:\n"
        '  - {name: vllm-triton, target: "triton-vllm://127.0.0.1:18000/vllm_model", weight: 100}\n'
        "  - name: trtllm-ensemble\n"
        '    target: "triton-trtllm://127.0.0.1:18000/ensemble"\n'
        "    weight: 0\n"
        "sticky: {header: x-session-id}\n"
        "health: {interval_s: 2.0, eject_after_failures: 3, restore_after_successes: 2}\n"
        "shadow: {backend: trtllm-ensemble, share: 0.0}\n"
    )
    loaded = load_router_config(path)
    assert [b.name for b in loaded.backends] == ["vllm-triton", "trtllm-ensemble"]
    assert loaded.sticky is not None
    assert loaded.sticky.header == "x-session-id"


def test_route_check_validates_without_serving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROSSFADE_ADMIN_TOKEN", raising=False)
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(f"version: 1\nbackends: [{BACKENDS[0]}]\n".replace("'", '"'))
    bad.write_text("version: 1\nbackends: []\n")
    assert main(["route", str(good), "--check"]) == 0
    assert "vllm-triton: triton-vllm://" in capsys.readouterr().out
    assert main(["route", str(bad)]) == 2
    assert "bad.yaml:2: backends" in capsys.readouterr().err  # located: file, line, field
    assert main(["route", str(good)]) == 2  # no token: refused before listening
    assert "CROSSFADE_ADMIN_TOKEN is not set" in capsys.readouterr().err


def test_the_example_in_the_help_is_a_valid_config() -> None:
    loaded = parse_router_config(yaml.safe_load(router_config_example()))
    assert [b.name for b in loaded.backends] == ["vllm-triton", "trtllm-ensemble"]
    assert loaded.timeouts.total_s == 600


def keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf key of `model` as a dotted path (a list's items as `name[].key`)."""
    found = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        in_list = typing.get_origin(annotation) is list
        parts = typing.get_args(annotation) or (annotation,)  # Optional, list: their arguments
        models = [p for p in parts if isinstance(p, type) and issubclass(p, BaseModel)]
        inner = prefix + name + ("[]." if in_list else ".")
        found.extend(keys(models[0], inner) if models else [prefix + name])
    return found


def test_docs_router_md_names_every_key_of_the_config() -> None:
    text = (Path(__file__).parents[3] / "docs" / "router.md").read_text(encoding="utf-8")
    found = keys(RouterConfig)
    assert "timeouts.total_s" in found  # the walk goes into sections
    assert "backends[].weight" in found  # and into lists
    missing = [key for key in found if f"`{key}`" not in text]
    assert missing == []


def test_route_refuses_a_length_gate_no_request_could_feed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an LLM API backend no request may ask for an exact length, so no length is
    checked: a plan's length gate would stay unclear until the canary paused."""
    monkeypatch.setenv("CROSSFADE_ADMIN_TOKEN", "secret")
    config = tmp_path / "router.yaml"
    config.write_text(
        "version: 1\nbackends:\n"
        '  - {name: ensemble, target: "triton-trtllm://127.0.0.1:9/ensemble"}\n'
        '  - {name: llmapi, target: "triton-llmapi://127.0.0.1:9/tensorrt_llm", weight: 0}\n'
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\nincumbent: ensemble\ncandidate: llmapi\nsteps: [50, 100]\n"
        "step: {min_duration_s: 1, min_samples: 20, max_duration_s: 2, interval_s: 1}\n"
        "gates: {ttft_p95_ratio_max: 2, error_rate_delta_max: 0.05, "
        "length_mismatch_delta_max: 0.05}\njournal: journal.jsonl\n"
    )
    assert main(["route", str(config), "--plan", str(plan)]) == 2
    err = capsys.readouterr().err
    assert "plan.yaml: gates.length_mismatch_delta_max: backend llmapi" in err
    assert "leave it out" in err
    assert not (tmp_path / "journal.jsonl").exists()
