"""`crossfade bench triton-llmapi://...` against the ground-truth server's LLM API wire, over real
sockets: the run says before it starts that lengths cannot be forced, completes with no
failure, and every record carries the server's four timestamps and a length counted with the
workload's tokenizer (in this process and through --workers); `crossfade compare` of it with an
OpenAI target that forced its lengths says their lengths differed, and by how much."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crossfade.bench.groundtruth_llmapi import DEFAULT_SERVER_CLOCK_OFFSET_NS as OFFSET
from crossfade.bench.results import load_records, load_result
from crossfade.compare import load_comparison
from crossfade.lab.tiny_model import TinyModelShape, ensure_tiny_model
from tests.cli.running import run_crossfade
from tests.support.groundtruth import GroundTruth, running_groundtruth

pytestmark = pytest.mark.servers  # they start servers (tests/support/tiers.py)

OUTPUT_LEN = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GroundTruth]:
    with running_groundtruth(tmp_path_factory.mktemp("groundtruth")) as server:
        yield server


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("models")
    return ensure_tiny_model(cache, TinyModelShape(vocab_size=512, corpus_words=5000))


def _counted(tokenizer: Path, tokens: int) -> int:
    """What the server's text for `tokens` tokens (" tok" each) counts with the tokenizer."""
    from transformers import AutoTokenizer

    reading = AutoTokenizer.from_pretrained(str(tokenizer))
    return len(reading.encode(" tok" * tokens, add_special_tokens=False))


@pytest.mark.parametrize(
    "extra", [(), ("--workers", "2"), ("--no-stream",)], ids=["stream", "workers", "whole"]
)
def test_a_run_against_the_llm_api_model(
    server: GroundTruth, tokenizer: Path, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    out = tmp_path / "run"
    target = f"triton-llmapi://127.0.0.1:{server.port}/tensorrt_llm"
    code, stdout, stderr = run_crossfade(
        "bench", target, "--tokenizer", str(tokenizer), "--input-len", "8",
        "--output-len", str(OUTPUT_LEN), "--concurrency", "4", "--requests", "12",
        "--no-server-metrics", "-o", str(out), *extra, cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    notice = " ".join(stderr.split())
    assert "cannot be asked for an exact output length" in notice
    assert "counted with the workload's tokenizer after the run" in notice
    assert notice.index("exact output length") < notice.index("12/12 requests")  # before
    result = load_result(out)
    summary = result.summary
    assert (summary.completed, summary.failed) == (12, 0)
    counted = _counted(tokenizer, OUTPUT_LEN)
    length = summary.output_length
    assert (length.forced, length.counted) == (False, 12)
    assert (length.requested_mean, length.received_mean) == (OUTPUT_LEN, counted)
    records = load_records(out)
    assert len(records) == 12
    for record in records:
        assert record.ok, record.error
        assert record.server_output_tokens is None  # the model counts nothing
        assert record.counted_output_tokens == sum(record.chunk_tokens) == counted
        assert record.chunk_text == []
        times = record.server_times
        assert times is not None
        assert times.arrival_ns - OFFSET > record.sent_ns  # the server's clock: known offset
        assert times.first_token_ns - OFFSET < record.chunk_ns[0]
        assert times.arrival_ns <= times.first_scheduled_ns < times.first_token_ns
        assert times.first_token_ns <= times.last_token_ns
    streamed = "--no-stream" not in extra
    assert all(len(r.chunk_ns) == (OUTPUT_LEN if streamed else 1) for r in records)
    assert summary.output_token_throughput_per_s > 0
    assert summary.distributions.itl_ns.count == 12 * (counted - 1)
    assert "counted with the workload's tokenizer" in " ".join(stdout.split())


def test_compare_says_the_llm_api_model_did_other_work(
    server: GroundTruth, tokenizer: Path, tmp_path: Path
) -> None:
    """vLLM's OpenAI API forced 6 tokens (the server counted them); the LLM API model could
    not, and its " tok" per token counts otherwise with this tokenizer."""
    out = tmp_path / "sweep"
    code, stdout, stderr = run_crossfade(
        "compare", f"openai://127.0.0.1:{server.port}/v1?model=gt",
        f"triton-llmapi://127.0.0.1:{server.port}/tensorrt_llm", "--name", "openai",
        "--name", "llmapi", "--tokenizer", str(tokenizer), "--input-len", "8",
        "--output-len", str(OUTPUT_LEN), "--concurrency", "2", "--repeat", "1",
        "--requests", "8", "--no-server-metrics", "-o", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    said = " ".join(stderr.split())
    assert said.count("cannot be asked for an exact output length") == 1  # once, llmapi's
    assert said.startswith("note: llmapi cannot be asked")  # before the sweep's first run
    comparison = load_comparison(out)
    counted = _counted(tokenizer, OUTPUT_LEN)
    (pair,) = comparison.pairs
    difference = pair.output_lengths
    assert difference is not None
    assert (difference.a_mean_output_tokens, difference.b_mean_output_tokens) == (6, counted)
    assert (difference.a_forced, difference.b_forced) == (True, False)
    assert difference.difference == pytest.approx((counted - OUTPUT_LEN) / OUTPUT_LEN)
    assert "output lengths differed: llmapi" in " ".join(stdout.split())
