"""`crossfade report`: what it writes, and bad input as a message with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfade.cli import main
from tests.report.saved import REAL, save_run


def test_report_writes_the_file_it_is_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = save_run(tmp_path / "run", REAL, 2, False)
    output = tmp_path / "out" / "report.html"
    assert main(["report", str(run), "-o", str(output), "--title", "Nightly <run>"]) == 0
    html = output.read_text(encoding="utf-8")
    assert "<title>Nightly &lt;run&gt;</title>" in html
    assert f"wrote {output}" in capsys.readouterr().out


def test_bad_input_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert main(["report", str(missing), "-o", str(tmp_path / "r.html")]) == 2
    error = capsys.readouterr().err
    assert f"crossfade report: {missing}: no such folder" in error
    assert "Traceback" not in error
    run = save_run(tmp_path / "run", REAL, 2, False)
    assert main(["report", str(run), "-o", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            "/proc/report.html",
            "-o /proc/report.html: cannot write there (No such file or directory)",
        ),
        ("/proc/none/report.html", "-o /proc/none/report.html: cannot write there"),
        ("{tmp}", "-o {tmp}: is a folder; give the file name to write"),
        (
            "{tmp}/run/result.json/report.html",
            "-o {tmp}/run/result.json/report.html: {tmp}/run/result.json is a file, not a folder",
        ),
    ],
)
def test_an_output_that_cannot_be_written_is_a_message(
    output: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = save_run(tmp_path / "run", REAL, 2, False)
    output = output.format(tmp=tmp_path)
    assert main(["report", str(run), "-o", output]) == 2
    error = capsys.readouterr().err
    assert f"crossfade report: {message.format(tmp=tmp_path)}" in error
    assert "Traceback" not in error
    # A folder or a path through a file is refused before the report is made.
    if "/proc" not in output:
        assert main(["report", str(tmp_path / "nowhere"), "-o", output]) == 2
        assert message.format(tmp=tmp_path) in capsys.readouterr().err
