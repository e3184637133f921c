"""A tiny Llama-architecture model built on this machine: nothing is downloaded.

The folder holds a `config.json` and a byte-level BPE tokenizer trained in about a second on
generated text. There are no weights: the engines load it with ``load_format="dummy"`` (random
weights), which is enough to exercise serving, batching and timing for real.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

READY_MARKER = ".crossfade-complete"


@dataclass(frozen=True)
class TinyModelShape:
    vocab_size: int = 1024
    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 4096
    corpus_words: int = 60_000
    seed: int = 1234

    def fingerprint(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


SPECIAL_TOKENS = ("<|begin_of_text|>", "<|end_of_text|>", "<|user|>", "<|assistant|>")

# A minimal chat template so OpenAI chat requests work against the tiny model too.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}<|user|>{% else %}<|assistant|>{% endif %}"
    "{{ message['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def ensure_tiny_model(cache_dir: Path, shape: TinyModelShape | None = None) -> Path:
    """The model folder under `cache_dir`, built on first use and reused afterwards."""
    shape = shape or TinyModelShape()
    folder = cache_dir / f"tiny-llama-{shape.fingerprint()}"
    if (folder / READY_MARKER).is_file():
        return folder
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    vocab = _train_tokenizer(staging, shape)
    _write_config(staging, shape, vocab)
    (staging / READY_MARKER).write_text(shape.fingerprint(), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)  # atomic: a crash mid-build never leaves a half model in place
    return folder


def generated_corpus(shape: TinyModelShape) -> list[str]:
    """Deterministic English-like lines: syllable words, so BPE learns useful merges."""
    rng = random.Random(shape.seed)
    onsets = ["b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "w", "st", "tr"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou"]
    codas = ["", "", "n", "r", "s", "t", "l", "nd", "ng"]
    words = [
        "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(n))
        for n in (rng.randint(1, 3) for _ in range(3000))
    ]
    lines, line = [], []
    for _ in range(shape.corpus_words):
        line.append(rng.choice(words))
        if len(line) >= rng.randint(6, 18):
            lines.append(" ".join(line).capitalize() + rng.choice([".", ".", "?", "!"]))
            line = []
    return lines


def _train_tokenizer(folder: Path, shape: TinyModelShape) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=shape.vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(generated_corpus(shape), trainer=trainer)
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        bos_token=SPECIAL_TOKENS[0],
        eos_token=SPECIAL_TOKENS[1],
        pad_token=SPECIAL_TOKENS[1],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(str(folder))
    return int(tokenizer.get_vocab_size())


def _write_config(folder: Path, shape: TinyModelShape, vocab_size: int) -> None:
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": shape.hidden_size,
        "intermediate_size": shape.intermediate_size,
        "num_hidden_layers": shape.num_hidden_layers,
        "num_attention_heads": shape.num_attention_heads,
        "num_key_value_heads": shape.num_key_value_heads,
        "max_position_embeddings": shape.max_position_embeddings,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
