"""A render removes what its previous render wrote and no longer renders, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from crossfade.cli import main
from crossfade.errors import UsageError
from crossfade.render.tree import RenderedTree
from tests.render.k8s.support import SPEC_8B, example_data


def write_spec(folder: Path, vllm_model: str) -> Path:
    data = example_data(SPEC_8B)
    data["vllm"]["triton_model_name"] = vllm_model
    path = folder / f"{vllm_model}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def render(spec: Path, out: Path, *extra: str) -> int:
    return main(["render", "triton", str(spec), "-o", str(out), *extra])


def test_renaming_the_vllm_model_removes_its_old_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert render(write_spec(tmp_path, "ensemble"), out) == 0
    mine = out / "vllm" / "notes.txt"  # written by someone else: never touched
    mine.write_text("keep me\n", encoding="utf-8")
    capsys.readouterr()
    # Before: the old folder stayed beside the new one, and Triton loaded two vLLM engines.
    assert render(write_spec(tmp_path, "llama"), out) == 0
    assert sorted(p.name for p in (out / "vllm").iterdir()) == ["llama", "notes.txt"]
    assert mine.read_text(encoding="utf-8") == "keep me\n"
    printed = capsys.readouterr().out
    assert f"removed {out / 'vllm/ensemble/config.pbtxt'}" in printed
    assert f"removed {out / 'vllm/ensemble/1/model.json'}" in printed
    assert f"removed {out}/vllm/ensemble/: rendered before, no longer rendered" in printed
    assert render(write_spec(tmp_path, "llama"), out, "--check") == 1  # notes.txt is not ours
    assert "not rendered: vllm/notes.txt" in capsys.readouterr().out


def test_check_calls_what_the_last_render_wrote_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert render(write_spec(tmp_path, "ensemble"), out) == 0
    capsys.readouterr()
    assert render(write_spec(tmp_path, "llama"), out, "--check") == 1
    printed = capsys.readouterr().out
    assert "stale: vllm/ensemble/config.pbtxt (rendered before, not now" in printed
    assert "missing file: vllm/llama/config.pbtxt" in printed
    assert (out / "vllm/ensemble/config.pbtxt").is_file()  # --check writes and removes nothing


def test_a_stale_file_edited_since_is_kept_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert render(write_spec(tmp_path, "ensemble"), out) == 0
    edited = out / "vllm/ensemble/1/model.json"
    edited.write_text('{"model": "/models/mine"}\n', encoding="utf-8")
    capsys.readouterr()
    assert render(write_spec(tmp_path, "llama"), out) == 1
    assert edited.is_file()
    assert not (out / "vllm/ensemble/config.pbtxt").exists()  # unedited: removed
    assert f"{edited} was rendered before and no longer is, but it was edited" in (
        capsys.readouterr().err
    )
    # Still recorded, so the next render says it again.
    assert render(write_spec(tmp_path, "llama"), out) == 1


def test_the_record_lists_every_file_and_folder_rendered(tmp_path: Path) -> None:
    tree = RenderedTree({"a/config.pbtxt": "x\n", "b.txt": "y\n"}, {"a/1"})
    tree.sync(tmp_path, "triton")
    record = json.loads((tmp_path / ".crossfade-render-triton").read_text(encoding="utf-8"))
    assert set(record["files"]) == {"a/config.pbtxt", "b.txt"}
    assert record["folders"] == ["a/1"]
    # An empty folder the previous render asked for goes with it; a non-empty one stays.
    (tmp_path / "a/1/data.bin").write_bytes(b"\0")
    report = RenderedTree({"b.txt": "y\n"}).sync(tmp_path, "triton")
    assert report.removed == ["a/config.pbtxt"]
    assert (tmp_path / "a/1/data.bin").is_file()


def test_a_record_naming_paths_outside_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("x\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    record = {"files": {"../outside.txt": "0" * 64}, "folders": []}
    (out / ".crossfade-render-triton").write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(UsageError, match="a path outside the folder"):
        RenderedTree({"b.txt": "y\n"}).sync(out, "triton")
    assert outside.is_file()
