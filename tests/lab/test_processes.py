"""Process management with real processes: a whole group is stopped, and PID reuse is safe."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from crossfade.lab.processes import spawn, stop

# A parent that starts a child in its own process group and then waits: `stop` must end both.
PARENT = (
    "import subprocess, sys, time;"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']);"
    "print('started', flush=True); time.sleep(120)"
)


def _children_of_group(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    log = tmp_path / "parent.log"
    process = spawn("parent", [sys.executable, "-c", PARENT], dict(os.environ), log)
    deadline = time.monotonic() + 20
    while len(_children_of_group(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.alive()
    assert len(_children_of_group(process.pid)) == 2
    stop(process, grace_s=5)
    assert not process.alive()
    assert _children_of_group(process.pid) == []
    assert "=== crossfade lab: starting parent" in log.read_text()


def test_a_reused_pid_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    process = spawn(
        "sleeper",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        dict(os.environ),
        tmp_path / "s.log",
    )
    try:
        impostor = replace(process, start_ticks=process.start_ticks + 1)
        assert not impostor.alive()
        stop(impostor)  # must not signal the real process
        assert process.alive()
    finally:
        stop(process, grace_s=5)
    assert not process.alive()


def test_stop_ends_the_group_after_its_leader_crashed(tmp_path: Path) -> None:
    """A server that crashed leaves its children behind in its group: `down` must end them."""
    process = spawn("parent", [sys.executable, "-c", PARENT], dict(os.environ), tmp_path / "p.log")
    deadline = time.monotonic() + 20
    while len(_children_of_group(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(process.pid, 9)  # the leader crashes; its child lives on in the group
    deadline = time.monotonic() + 10
    while process.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process.alive()
    assert len(_children_of_group(process.pid)) == 1
    stop(process, grace_s=5)
    assert _children_of_group(process.pid) == []
