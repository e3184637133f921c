"""Marks on emulated targets: in labels, and added to free text that names them."""

from __future__ import annotations

from crossfade.report.marks import EMULATED_MARK, Marker


def test_only_whole_bare_mentions_of_emulated_targets_get_the_mark() -> None:
    marker = Marker(["trt", "trt.ensemble+v2"])
    marked = f"trt ({EMULATED_MARK})"
    assert marker.label("trt") == marked
    assert marker.label("vllm") == "vllm"
    assert marker.text("trt beats vllm; trt-fast and trt2 too") == (
        f"{marked} beats vllm; trt-fast and trt2 too"
    )
    assert marker.text(marked) == marked  # never twice
    assert marker.text("trt.ensemble+v2 leads") == f"trt.ensemble+v2 ({EMULATED_MARK}) leads"
    assert Marker([]).text("trt") == "trt"
