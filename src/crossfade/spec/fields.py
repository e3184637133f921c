"""Field types shared by the spec's backend sections."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

# Triton model names become folder names and URL path segments.
ModelName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=128)]
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]
TritonDataType = Literal["TYPE_FP32", "TYPE_FP16", "TYPE_BF16"]
ParameterValue = str | bool | int | float

_IMAGE_TAG = re.compile(r"^(?:[^\s:]+:)?\d{2}\.\d{2}-(?:trtllm|vllm)-python-py3$")


def check_image(value: str, kind: str) -> str:
    """`value` if it is a Triton container tag of `kind` ('trtllm' or 'vllm')."""
    if not _IMAGE_TAG.match(value) or f"-{kind}-" not in value:
        raise ValueError(
            f"'{value}' is not a Triton {kind} container tag; "
            f"expected the form 'YY.MM-{kind}-python-py3' (e.g. '26.11-{kind}-python-py3')"
        )
    return value


TrtllmImage = Annotated[
    str,
    AfterValidator(lambda value: check_image(value, "trtllm")),
    Field(description="Triton container tag, e.g. '26.07-trtllm-python-py3'."),
]
VllmImage = Annotated[
    str,
    AfterValidator(lambda value: check_image(value, "vllm")),
    Field(description="Triton container tag, e.g. '25.12-vllm-python-py3'."),
]
