"""The tiny model is built locally, deterministically, and reused from the cache."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoTokenizer

from crossfade.lab.tiny_model import READY_MARKER, TinyModelShape, ensure_tiny_model


def test_builds_a_llama_config_and_a_working_tokenizer(tmp_path: Path) -> None:
    shape = TinyModelShape(vocab_size=512, corpus_words=5000)
    folder = ensure_tiny_model(tmp_path, shape)
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    assert config["vocab_size"] == len(tokenizer) <= 512
    text = "Hello world, the lab runs on a CPU."
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    assert tokenizer.eos_token_id == config["eos_token_id"]
    chat = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert chat.endswith("<|assistant|>")


def test_second_call_reuses_the_cache_and_builds_are_deterministic(tmp_path: Path) -> None:
    shape = TinyModelShape(vocab_size=512, corpus_words=5000)
    first = ensure_tiny_model(tmp_path / "a", shape)
    marker_time = (first / READY_MARKER).stat().st_mtime_ns
    assert ensure_tiny_model(tmp_path / "a", shape) == first
    assert (first / READY_MARKER).stat().st_mtime_ns == marker_time
    second = ensure_tiny_model(tmp_path / "b", shape)
    assert (first / "tokenizer.json").read_bytes() == (second / "tokenizer.json").read_bytes()
