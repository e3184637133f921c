"""The model's architecture: a Hugging Face `config.json` the user points to, or one crossfade
ships for the models of its example specs (no hub access at run time)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from crossfade.project.model import HfConfigSource, ProjectionError
from crossfade.saved import read_json_file
from crossfade.spec.models import Spec

SHIPPED_FOLDER = Path(__file__).parent / "configs"
# Hugging Face id -> the config crossfade ships (architecture numbers only, no weights).
SHIPPED: dict[str, str] = {
    "meta-llama/Meta-Llama-3-8B-Instruct": "llama-3-8b-instruct.json",
    "meta-llama/Meta-Llama-3-70B-Instruct": "llama-3-70b-instruct.json",
    "meta-llama/Llama-3.1-8B-Instruct": "llama-3.1-8b-instruct.json",
}
MAX_CONFIG_BYTES = 1_000_000  # a config.json is a few kB; a bigger file is something else


@dataclass(frozen=True)
class HfConfig:
    text: str  # the file as read, handed to the library unchanged
    source: HfConfigSource


def shipped_for(spec: Spec) -> str | None:
    """The shipped config of the spec's model: by its served name (a Hugging Face id) or by its
    name being a shipped file's."""
    served = (spec.model.served_name or "").lower()
    for hf_id, name in SHIPPED.items():
        if served == hf_id.lower() or spec.model.name == name.removesuffix(".json"):
            return name
    return None


def read_hf_config(path: Path | None, spec: Spec, flag: str) -> HfConfig:
    """`path` (a config.json, or the folder holding one) or, without it, the shipped config of
    the spec's model."""
    if path is None:
        name = shipped_for(spec)
        if name is None:
            shipped = ", ".join(SHIPPED)
            raise ProjectionError(
                f"no config.json for model {spec.model.client_name!r}: give {flag} PATH (the "
                f"model's Hugging Face config.json; no weights are read); crossfade ships "
                f"configs for {shipped}"
            )
        return _read(SHIPPED_FOLDER / name, name, shipped=True, flag=flag)
    file = path / "config.json" if path.is_dir() else path
    return _read(file, str(path), shipped=False, flag=flag)


def _read(file: Path, given: str, *, shipped: bool, flag: str) -> HfConfig:
    where = f"{flag} {given}" if not shipped else str(file)
    if file.is_file() and file.stat().st_size > MAX_CONFIG_BYTES:
        raise ProjectionError(
            f"{where}: larger than {MAX_CONFIG_BYTES:,} bytes; give the model's config.json"
        )
    missing = "no such file; give the model's config.json"
    text, data = read_json_file(file, error=ProjectionError, missing=missing, name=where)
    architectures = data.get("architectures") if isinstance(data, dict) else None
    if (
        not isinstance(architectures, list)
        or not architectures
        or not all(isinstance(a, str) and a for a in architectures)
    ):
        raise ProjectionError(
            f"{where}: not a Hugging Face config.json: no 'architectures' list naming the "
            "model's class (e.g. LlamaForCausalLM)"
        )
    source = HfConfigSource(
        path=file.name if shipped else given,
        shipped=shipped,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        architecture=architectures[0],
    )
    return HfConfig(text=text, source=source)
