"""Generation requests the dialect tests share, and what every Triton request asks for."""

from __future__ import annotations

from crossfade.bench.dialects.base import GenerationRequest

STREAMED = GenerationRequest("Hello there", 32)
WHOLE = GenerationRequest("Hi", 5, stream=False)
CAPPED = GenerationRequest("Hello there", 32, exact_length=False)
COUNTS = {"return_num_input_tokens": True, "return_num_output_tokens": True}
