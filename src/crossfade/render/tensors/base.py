"""Tensor and ensemble-step records, the data-type markers and feature tags."""

from __future__ import annotations

from dataclasses import dataclass

LOGITS_DATATYPE = "${logits_datatype}"
ENCODER_INPUT_FEATURES_DATATYPE = "${encoder_input_features_data_type}"
PROMPT_EMBEDDING_TABLE_DATATYPE = "${prompt_embedding_table_data_type}"

DATATYPE_MARKERS = frozenset(
    {LOGITS_DATATYPE, ENCODER_INPUT_FEATURES_DATATYPE, PROMPT_EMBEDDING_TABLE_DATATYPE}
)

MULTIMODAL = "multimodal"
ENCDEC = "encdec"
SPECULATIVE = "speculative"
LORA = "lora"
GUIDED = "guided"
FEATURES = frozenset({MULTIMODAL, ENCDEC, SPECULATIVE, LORA, GUIDED})

SCALAR = ()
"""``reshape`` value meaning ``reshape: { shape: [ ] }``."""


@dataclass(frozen=True)
class Tensor:
    name: str
    data_type: str
    dims: tuple[int, ...]
    optional: bool = False
    reshape: tuple[int, ...] | None = None
    allow_ragged_batch: bool = False
    feature: str | None = None

    def __post_init__(self) -> None:
        if self.feature is not None and self.feature not in FEATURES:
            raise ValueError(f"unknown feature {self.feature!r} on tensor {self.name!r}")


@dataclass(frozen=True)
class StepMap:
    model_name: str
    input_map: tuple[tuple[str, str], ...]
    output_map: tuple[tuple[str, str], ...]


def by_name(tensors: tuple[Tensor, ...]) -> dict[str, Tensor]:
    """Index tensors by name (later duplicates, if any, win)."""
    return {t.name: t for t in tensors}


def without_features(
    tensors: tuple[Tensor, ...], keep: frozenset[str] = frozenset()
) -> tuple[Tensor, ...]:
    """Core tensors plus those whose feature is in ``keep``, in the original order."""
    unknown = keep - FEATURES
    if unknown:
        raise ValueError(f"unknown feature(s): {sorted(unknown)}")
    return tuple(t for t in tensors if t.feature is None or t.feature in keep)
