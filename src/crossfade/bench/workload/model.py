"""The `Workload` model and the file that replays it anywhere.

File format (JSONL, UTF-8): line 1 is a header, then one request per line, in order::

    {"format": "crossfade-workload", "version": 1, "fingerprint": "...", "count": N,
     "source": ..., "seed": ..., "tokenizer": ..., "tokenizer_fingerprint": ..., ...}
    {"index": 0, "prompt": "...", "prompt_tokens": 128, "output_tokens": 64, "stream": true}

`Workload.fingerprint()` is the first 16 hex digits of the SHA-256 of, for each request in
order, ``json.dumps([prompt, prompt_tokens, output_tokens], ensure_ascii=False) + "\\n"``.
It covers what the server is asked to do, not where it came from or the stream flag.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crossfade.bench.protocol import BenchRequest
from crossfade.errors import CrossfadeError
from crossfade.saved import parse_json

FORMAT, FORMAT_VERSION = "crossfade-workload", 1
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
SAVED_LINE_FORM = (
    'a JSON object {"index": I, "prompt": "...", "prompt_tokens": N, "output_tokens": M, '
    '"stream": true}, numbered 0, 1, 2, ... in file order'
)


class WorkloadError(CrossfadeError, ValueError):
    """A workload that cannot be built or read; the message says where and how to fix it."""


def tokenizer_fingerprint(folder: str | Path) -> str:
    """SHA-256 (16 hex digits) over the tokenizer files present in `folder`."""
    digest, found = hashlib.sha256(), False
    for name in TOKENIZER_FILES:
        file = Path(folder) / name
        if file.is_file():
            digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
            found = True
    if not found:
        raise WorkloadError(f"{folder}: no tokenizer files ({', '.join(TOKENIZER_FILES)})")
    return digest.hexdigest()[:16]


class _RequestLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    index: int = Field(ge=0)
    prompt: str
    prompt_tokens: int = Field(ge=1)
    output_tokens: int = Field(ge=1)
    stream: bool = True


def problem(exc: ValidationError) -> str:
    """A validation error as "field: message; ..." for a message that names the line."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in exc.errors()
    )


class WorkloadSource(BaseModel):
    """Where a workload's requests came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str  # "synthetic", "sharegpt:<file>" or "jsonl:<file>"
    seed: int | None
    tokenizer: str  # the folder the counts were made with
    tokenizer_fingerprint: str
    input_len: str | None = None  # length specs, as given to --input-len/--output-len
    output_len: str | None = None
    skipped: int = 0  # source entries passed over (too long, no reply) while drawing


class WorkloadFacts(WorkloadSource):
    """A workload without its requests, as a result records it: where they came from, their
    fingerprint and how many there were."""

    fingerprint: str
    count: int


class Workload(WorkloadSource):
    """Requests plus where they came from, so a saved workload replays on any target."""

    requests: tuple[BenchRequest, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbered_in_order(self) -> Workload:
        for position, request in enumerate(self.requests):
            if request.index != position:
                raise ValueError(f"request {position} has index {request.index}")
        return self

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for r in self.requests:
            line = json.dumps([r.prompt, r.prompt_tokens, r.output_tokens], ensure_ascii=False)
            digest.update(line.encode() + b"\n")
        return digest.hexdigest()[:16]

    def facts(self) -> WorkloadFacts:
        source = self.model_dump(exclude={"requests"})
        return WorkloadFacts(**source, fingerprint=self.fingerprint(), count=len(self.requests))

    def tokenizer_matches(self, tokenizer_folder: str | Path) -> bool:
        """Whether `tokenizer_folder` would count these prompts as the workload does."""
        return tokenizer_fingerprint(tokenizer_folder) == self.tokenizer_fingerprint

    def save(self, path: str | Path) -> None:
        head = {"format": FORMAT, "version": FORMAT_VERSION, "fingerprint": self.fingerprint()}
        head |= {"count": len(self.requests)} | self.model_dump(exclude={"requests"})
        lines = [json.dumps(head, ensure_ascii=False)]
        lines += [json.dumps(dataclasses.asdict(r), ensure_ascii=False) for r in self.requests]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Workload:
        rows = json_lines(path, SAVED_LINE_FORM)
        if not rows or rows[0][1].get("format") != FORMAT:
            raise WorkloadError(f"{path}:1: not a crossfade workload; make one with Workload.save")
        head = dict(rows[0][1])
        if head.pop("version", None) != FORMAT_VERSION:
            raise WorkloadError(f"{path}:1: unsupported version; this reads {FORMAT_VERSION}")
        del head["format"]
        want, count = head.pop("fingerprint", None), head.pop("count", None)
        requests: list[BenchRequest] = []
        for number, data in rows[1:]:
            try:
                row = _RequestLine.model_validate(data)
            except ValidationError as exc:
                raise WorkloadError(
                    f"{path}:{number}: {problem(exc)}; write {SAVED_LINE_FORM}"
                ) from exc
            if row.index != len(requests):
                raise WorkloadError(
                    f"{path}:{number}: index {row.index}, expected {len(requests)}; "
                    f"write {SAVED_LINE_FORM}"
                )
            requests.append(BenchRequest(**row.model_dump()))
        try:
            workload = cls(**head, requests=tuple(requests))
        except ValidationError as exc:
            raise WorkloadError(
                f"{path}:1: bad header: {problem(exc)}; regenerate it with Workload.save"
            ) from exc
        if count != len(requests) or want != workload.fingerprint():
            raise WorkloadError(
                f"{path}:1: the header says {count} requests, fingerprint {want}, but the file "
                f"holds {len(requests)}, fingerprint {workload.fingerprint()}: it was edited or "
                "cut short after saving; regenerate it with the same source and seed"
            )
        return workload


def json_lines(path: str | Path, form: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; errors name the line and the form."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"{path}: cannot read it ({exc})") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = parse_json(line)
        except json.JSONDecodeError as exc:
            raise WorkloadError(f"{path}:{number}: not JSON ({exc.msg}); write {form}") from exc
        if not isinstance(data, dict):
            raise WorkloadError(f"{path}:{number}: not a JSON object; write {form}")
        rows.append((number, data))
    return rows


def new_workload(tokenizer_folder: str | Path, **provenance: Any) -> Workload:
    """A workload counted with `tokenizer_folder`, stamped with that tokenizer's fingerprint."""
    return Workload(
        tokenizer=str(tokenizer_folder),
        tokenizer_fingerprint=tokenizer_fingerprint(tokenizer_folder),
        **provenance,
    )
