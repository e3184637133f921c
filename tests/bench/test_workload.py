from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from crossfade.bench.protocol import BenchRequest
from crossfade.bench.workload import (
    LengthSpec,
    Workload,
    WorkloadError,
    jsonl_workload,
    parse_length,
    sharegpt_workload,
    synthesize_prompts,
    synthetic_workload,
    tokenizer_fingerprint,
)
from crossfade.bench.workload import tokens as workload_module
from crossfade.lab.tiny_model import TinyModelShape, ensure_tiny_model


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("models")
    return ensure_tiny_model(cache, TinyModelShape(vocab_size=512, corpus_words=5000))


@pytest.fixture(scope="module")
def tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))


def _count(tokenizer: Any, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False))


# --- length specs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("128", LengthSpec("fixed", (128,))),
        ("uniform:64-256", LengthSpec("uniform", (64, 256))),
        (" Uniform:5-5 ", LengthSpec("uniform", (5, 5))),
        ("normal:512,128", LengthSpec("normal", (512.0, 128.0))),
        ("lognormal:300,0.6", LengthSpec("lognormal", (300.0, 0.6))),
        ("uniform:64-1000000", LengthSpec("uniform", (64, 1_000_000))),
        ("normal:1234567.25,0.1", LengthSpec("normal", (1234567.25, 0.1))),
    ],
)
def test_parse_length(text: str, expected: LengthSpec) -> None:
    spec = parse_length(text)
    assert spec == expected
    assert parse_length(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("0", "N (a whole number"),
        ("-3", "N (a whole number"),
        ("12.5", "N (a whole number"),
        ("uniform:5", "uniform:A-B"),
        ("uniform:9-3", "uniform:A-B"),
        ("normal:100", "normal:MEAN,STD"),
        ("normal:100,-1", "normal:MEAN,STD"),
        ("lognormal:0,1", "lognormal:MEDIAN,SIGMA"),
        ("poisson:3", "uniform:A-B"),
        ("", "N (a whole number"),
    ],
)
def test_parse_length_rejects_bad_text_naming_the_form(text: str, form: str) -> None:
    with pytest.raises(ValueError, match=f"not understood; use .*{re.escape(form)}"):
        parse_length(text)


def test_length_samples_respect_their_distribution() -> None:
    rng = np.random.default_rng(0)
    assert parse_length("7").sample(rng, 3) == [7, 7, 7]
    uniform = parse_length("uniform:10-20").sample(rng, 5000)
    assert (min(uniform), max(uniform)) == (10, 20)
    clipped = parse_length("normal:2,50").sample(rng, 5000)
    assert min(clipped) == 1
    lognormal = parse_length("lognormal:300,0.5").sample(rng, 20_000)
    assert np.median(lognormal) == pytest.approx(300, rel=0.03)
    assert all(type(v) is int for v in uniform + clipped + lognormal)


# --- synthetic prompts ----------------------------------------------------------------------


def test_synthetic_prompts_reencode_to_exactly_their_length(folder: Path, tokenizer: Any) -> None:
    workload = synthetic_workload(folder, 200, "uniform:1-400", "uniform:1-64", seed=7)
    assert len(workload.requests) == 200
    control = set(tokenizer.get_added_vocab().values()) | set(tokenizer.all_special_ids)
    for position, request in enumerate(workload.requests):
        ids = tokenizer.encode(request.prompt, add_special_tokens=False)
        assert request.index == position
        assert len(ids) == request.prompt_tokens
        assert not control & set(ids)
        assert 1 <= request.output_tokens <= 64
    assert len({r.prompt_tokens for r in workload.requests}) > 100  # really spread out


def test_same_seed_gives_byte_identical_workloads(folder: Path, tmp_path: Path) -> None:
    first = synthetic_workload(folder, 50, "normal:100,30", "lognormal:50,0.5", seed=11)
    again = synthetic_workload(folder, 50, "normal:100,30", "lognormal:50,0.5", seed=11)
    other = synthetic_workload(folder, 50, "normal:100,30", "lognormal:50,0.5", seed=12)
    first.save(tmp_path / "a.jsonl")
    again.save(tmp_path / "b.jsonl")
    other.save(tmp_path / "c.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert first.fingerprint() == again.fingerprint()
    assert other.fingerprint() != first.fingerprint()
    assert [r.prompt for r in other.requests] != [r.prompt for r in first.requests]


def test_output_lengths_do_not_disturb_the_prompts(folder: Path) -> None:
    short = synthetic_workload(folder, 20, "uniform:10-50", "16", seed=3)
    long = synthetic_workload(folder, 20, "uniform:10-50", "uniform:100-200", seed=3)
    assert [r.prompt for r in short.requests] == [r.prompt for r in long.requests]
    assert {r.output_tokens for r in short.requests} == {16}


def test_synthetic_provenance(folder: Path) -> None:
    workload = synthetic_workload(folder, 3, "32", "8", seed=5, stream=False)
    assert workload.source == "synthetic"
    assert (workload.seed, workload.input_len, workload.output_len) == (5, "32", "8")
    assert workload.tokenizer == str(folder)
    assert workload.tokenizer_fingerprint == tokenizer_fingerprint(folder)
    assert all(not r.stream and r.prompt_tokens == 32 for r in workload.requests)


def test_synthesis_gives_up_with_a_clear_error(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workload_module, "MAX_REPAIR_ROUNDS", 0)
    with pytest.raises(WorkloadError, match=r"exactly 40 tokens .* repair rounds; try another"):
        synthesize_prompts(folder, [40], np.random.default_rng(0))


# --- ShareGPT -------------------------------------------------------------------------------


def _conversation(*turns: tuple[str, str]) -> dict[str, Any]:
    return {"id": "x", "conversations": [{"from": who, "value": text} for who, text in turns]}


def _write_sharegpt(path: Path, entries: list[Any]) -> Path:
    path.write_text(json.dumps(entries, indent=1), encoding="utf-8")
    return path


def test_sharegpt_takes_first_human_turn_and_reply_length(
    folder: Path, tokenizer: Any, tmp_path: Path
) -> None:
    replies = {f"question {i} about lamas": "Bafo " * (i + 1) for i in range(6)}
    entries = [_conversation(("human", q), ("gpt", a)) for q, a in replies.items()]
    entries.append(_conversation(("gpt", "a reply without a question")))
    entries.append(_conversation(("system", "be brief"), ("human", "hi"), ("human", "again")))
    path = _write_sharegpt(tmp_path / "sharegpt.json", entries)
    workload = sharegpt_workload(path, folder, seed=1)
    assert len(workload.requests) == 6
    assert workload.skipped == 2
    for request in workload.requests:
        assert request.prompt in replies
        assert request.prompt_tokens == _count(tokenizer, request.prompt)
        assert request.output_tokens == _count(tokenizer, replies[request.prompt])
    assert workload.source == f"sharegpt:{path}"
    again = sharegpt_workload(path, folder, seed=1)
    assert again.fingerprint() == workload.fingerprint()


def test_sharegpt_filters_long_entries_and_overrides_output(
    folder: Path, tokenizer: Any, tmp_path: Path
) -> None:
    entries = [_conversation(("human", "short ask"), ("gpt", "short answer"))] * 3
    entries.append(_conversation(("human", "lama " * 200), ("gpt", "ok")))
    path = _write_sharegpt(tmp_path / "sharegpt.json", entries)
    workload = sharegpt_workload(path, folder, max_prompt_tokens=50, output_len="64")
    assert [r.prompt for r in workload.requests] == ["short ask"] * 3
    assert {r.output_tokens for r in workload.requests} == {64}
    assert (workload.skipped, workload.output_len) == (1, "64")
    total_limit = _count(tokenizer, "short ask") + 63
    with pytest.raises(WorkloadError, match=r"0 usable entries.*4 skipped"):
        sharegpt_workload(path, folder, max_total_tokens=total_limit, output_len="64")
    with pytest.raises(WorkloadError, match=r"3 usable entries, 4 asked for"):
        sharegpt_workload(path, folder, num_requests=4, max_prompt_tokens=50)


def test_sharegpt_malformed_entry_names_file_and_line(folder: Path, tmp_path: Path) -> None:
    good = _conversation(("human", "hi"), ("gpt", "hello"))
    path = _write_sharegpt(tmp_path / "bad.json", [good, {"conversations": "hi"}])
    with pytest.raises(WorkloadError) as caught:
        sharegpt_workload(path, folder)
    starts = [n for n, text in enumerate(path.read_text().splitlines(), 1) if text == " {"]
    line = starts[1]  # where the second entry starts
    assert str(caught.value).startswith(f"{path}:{line}: entry 1 is malformed")
    assert '"conversations"' in str(caught.value)


def test_sharegpt_invalid_json_names_the_line(folder: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n {"conversations": []},\n {"conversations": [}\n]', encoding="utf-8")
    with pytest.raises(WorkloadError, match=rf"^{path}:3: not JSON .*write a JSON list"):
        sharegpt_workload(path, folder)


# --- JSONL prompts --------------------------------------------------------------------------


def test_jsonl_prompts_count_tokens_unless_given(
    folder: Path, tokenizer: Any, tmp_path: Path
) -> None:
    path = tmp_path / "prompts.jsonl"
    lines = [
        {"prompt": "Stou lamar bafo.", "output_tokens": 10},
        {},
        {"prompt": "Given count", "output_tokens": 3, "prompt_tokens": 99},
        {"prompt": "Trea ging mou", "output_tokens": 7},
    ]
    path.write_text("\n".join(json.dumps(x) if x else "  " for x in lines), encoding="utf-8")
    workload = jsonl_workload(path, folder)
    prompts = [(r.prompt, r.prompt_tokens, r.output_tokens) for r in workload.requests]
    assert prompts == [
        ("Stou lamar bafo.", _count(tokenizer, "Stou lamar bafo."), 10),
        ("Given count", 99, 3),
        ("Trea ging mou", _count(tokenizer, "Trea ging mou"), 7),
    ]
    assert (workload.source, workload.seed) == (f"jsonl:{path}", None)
    assert len(jsonl_workload(path, folder, num_requests=2).requests) == 2


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"prompt": "hi", "output_tokens": 4', "not JSON"),
        ("[" * 100_000, "not JSON (nested deeper than the JSON decoder goes)"),
        ('["hi", 4]', "not a JSON object"),
        ('{"prompt": "hi", "output_tokens": "4"}', "output_tokens: Input should be a valid int"),
        ('{"prompt": "hi", "output_tokens": 0}', "output_tokens: Input should be greater"),
        ('{"prompt": "hi", "output_tokens": 4, "max_tokens": 9}', "max_tokens: Extra inputs"),
    ],
)
def test_jsonl_malformed_line_names_file_and_line(
    folder: Path, tmp_path: Path, line: str, problem: str
) -> None:
    path = tmp_path / "prompts.jsonl"
    good = json.dumps({"prompt": "fine", "output_tokens": 2})
    path.write_text(f"{good}\n{good}\n{line}\n", encoding="utf-8")
    with pytest.raises(WorkloadError) as caught:
        jsonl_workload(path, folder)
    message = str(caught.value)
    assert message.startswith(f"{path}:3: ")
    assert problem in message
    assert '{"prompt": "...", "output_tokens": 128}' in message  # the fix


def test_jsonl_lines_without_output_tokens_draw_from_output_len(
    folder: Path, tmp_path: Path
) -> None:
    path = tmp_path / "prompts.jsonl"
    lines = [{"prompt": "one"}, {"prompt": "two", "output_tokens": 3}, {"prompt": "three"}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    with pytest.raises(WorkloadError, match=rf"^{re.escape(str(path))}:1: no output_tokens.*"
                       "--output-len"):  # fmt: skip
        jsonl_workload(path, folder)
    fixed = jsonl_workload(path, folder, output_len="16")
    assert [r.output_tokens for r in fixed.requests] == [16, 3, 16]  # a line's own count stays
    assert (fixed.output_len, fixed.seed) == ("16", 0)
    drawn = jsonl_workload(path, folder, output_len="uniform:1-1000", seed=5)
    again = jsonl_workload(path, folder, output_len="uniform:1-1000", seed=5)
    assert drawn.fingerprint() == again.fingerprint()  # seeded: the same draw every time
    assert drawn.requests[1].output_tokens == 3
    complete = tmp_path / "complete.jsonl"
    complete.write_text(json.dumps({"prompt": "x", "output_tokens": 2}) + "\n", encoding="utf-8")
    untouched = jsonl_workload(complete, folder, output_len="16")
    assert (untouched.requests[0].output_tokens, untouched.output_len) == (2, None)


# --- saved workloads ------------------------------------------------------------------------


def test_save_load_round_trip(folder: Path, tmp_path: Path) -> None:
    workload = synthetic_workload(folder, 40, "uniform:1-80", "normal:20,5", seed=2)
    path = tmp_path / "workload.jsonl"
    workload.save(path)
    loaded = Workload.load(path)
    assert loaded == workload
    assert loaded.fingerprint() == workload.fingerprint()
    header = json.loads(path.read_text().splitlines()[0])
    assert header["format"] == "crossfade-workload"
    assert (header["version"], header["count"]) == (1, 40)
    assert header["fingerprint"] == workload.fingerprint()
    assert loaded.tokenizer_matches(folder)


def test_fingerprint_definition(folder: Path) -> None:
    requests = (BenchRequest(0, "héllo", 2, 5), BenchRequest(1, "x", 1, 9, stream=False))
    workload = Workload(
        source="test", seed=None, tokenizer="t", tokenizer_fingerprint="f", requests=requests
    )
    blob = '["héllo", 2, 5]\n["x", 1, 9]\n'.encode()
    assert workload.fingerprint() == hashlib.sha256(blob).hexdigest()[:16]


def test_load_rejects_an_edited_file(folder: Path, tmp_path: Path) -> None:
    path = tmp_path / "workload.jsonl"
    synthetic_workload(folder, 5, "16", "8", seed=2).save(path)
    lines = path.read_text().splitlines()
    row = json.loads(lines[3])
    row["output_tokens"] += 1
    lines[3] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(WorkloadError, match=rf"^{path}:1: .*edited .*regenerate"):
        Workload.load(path)
    path.write_text("\n".join(lines[:3]) + "\n")
    with pytest.raises(WorkloadError, match=rf"^{path}:1: the header says 5 requests"):
        Workload.load(path)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"index": 1, "prompt": "x"', "not JSON"),
        ('{"index": 1, "prompt": "x", "prompt_tokens": 1}', "output_tokens: Field required"),
        ('{"index": 5, "prompt": "x", "prompt_tokens": 1, "output_tokens": 1}', "index 5"),
    ],
)
def test_load_names_the_bad_line(folder: Path, tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "workload.jsonl"
    synthetic_workload(folder, 3, "16", "8", seed=2).save(path)
    lines = path.read_text().splitlines()
    lines[2] = line
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(WorkloadError, match=rf"^{path}:3: .*{problem}"):
        Workload.load(path)


def test_load_rejects_a_file_that_is_not_a_workload(tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"prompt": "hi", "output_tokens": 4}\n')
    with pytest.raises(WorkloadError, match=rf"^{path}:1: not a crossfade workload"):
        Workload.load(path)


def test_workload_forbids_unknown_fields_and_misnumbered_requests() -> None:
    base: dict[str, Any] = {"source": "s", "seed": 1, "tokenizer": "t"}
    base["tokenizer_fingerprint"] = "f"
    with pytest.raises(ValidationError, match="Extra inputs"):
        Workload(**base, requests=(BenchRequest(0, "x", 1, 1),), colour="red")
    with pytest.raises(ValidationError, match="request 0 has index 3"):
        Workload(**base, requests=(BenchRequest(3, "x", 1, 1),))


def test_tokenizer_fingerprint_follows_the_tokenizer_files(folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (copy / name).write_bytes((folder / name).read_bytes())
    assert tokenizer_fingerprint(copy) == tokenizer_fingerprint(folder)
    (copy / "tokenizer_config.json").write_text("{}")
    assert tokenizer_fingerprint(copy) != tokenizer_fingerprint(folder)
    with pytest.raises(WorkloadError, match="no tokenizer files"):
        tokenizer_fingerprint(tmp_path)
