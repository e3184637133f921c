"""`crossfade` in a subprocess, as a person or a Job runs it: its output piped (not a terminal),
its stderr read line by line while it runs, so a test waits on what it printed, not on a clock."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from tests.support.paths import ROOT

PROGRESS = re.compile(r": (\d+)(?:/\d+)? requests, ")
LEFT_BEHIND_S = 10.0  # how long a worker may outlive the command (an interpreter's exit)


class Crossfade:
    """One `crossfade` process in its own process group (a test can signal the whole group, as
    a terminal's Ctrl-C does, or the process alone, as Kubernetes does)."""

    def __init__(self, *args: str, cwd: Path) -> None:
        command = [sys.executable, "-m", "crossfade", *args]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self.readers = [
            threading.Thread(target=_read, args=(stream, lines), daemon=True)
            for stream, lines in (
                (self.process.stdout, self.stdout_lines),
                (self.process.stderr, self.stderr_lines),
            )
        ]
        for reader in self.readers:
            reader.start()

    def wait_for(self, seen: Callable[[list[str]], bool], timeout_s: float = 30) -> None:
        """Until `seen(stderr lines so far)` holds; fails if the process ends first."""
        deadline = time.monotonic() + timeout_s
        while not seen(list(self.stderr_lines)):
            assert self.process.poll() is None, f"it ended first: {self.finish()}"
            assert time.monotonic() < deadline, f"not seen in {timeout_s} s: {self.stderr_lines}"
            time.sleep(0.05)

    def wait_for_requests(self, count: int, timeout_s: float = 30) -> int:
        """Until a progress line reports `count` finished requests or more; returns that count."""
        self.wait_for(lambda lines: requests_done(lines) >= count, timeout_s)
        return requests_done(self.stderr_lines)

    def signal(self, number: signal.Signals, group: bool = False) -> None:
        if group:
            os.killpg(self.process.pid, number)
        else:
            self.process.send_signal(number)

    def finish(self, timeout_s: float = 60) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) once it ends; killed (the whole group) if it does not.
        Fails if a process of its group (a worker) outlives it by more than a few seconds."""
        try:
            self.process.wait(timeout=timeout_s)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        deadline = time.monotonic() + LEFT_BEHIND_S
        while (left := group_members(self.process.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        if left:
            os.killpg(self.process.pid, signal.SIGKILL)
        for reader in self.readers:  # at the end of both pipes once no process holds them
            reader.join()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        assert not left, f"processes left behind: {left}"
        return self.process.returncode, "".join(self.stdout_lines), "".join(self.stderr_lines)


def group_members(group: int) -> list[int]:
    """The live processes (zombies aside) of process group `group`, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:  # it ended while we looked
            continue
        fields = stat.rpartition(")")[2].split()  # state, ppid, pgrp, ...
        if fields and int(fields[2]) == group and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _read(stream: IO[str] | None, lines: list[str]) -> None:
    assert stream is not None
    for line in stream:
        lines.append(line)


def requests_done(lines: list[str]) -> int:
    """The largest request count on a progress line."""
    return max((int(m.group(1)) for line in lines if (m := PROGRESS.search(line))), default=0)


def run_crossfade(*args: str, cwd: Path, timeout_s: float = 60) -> tuple[int, str, str]:
    return Crossfade(*args, cwd=cwd).finish(timeout_s)
