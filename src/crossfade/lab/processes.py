"""Processes the lab starts: spawned in their own session, recorded, and stopped by group.

Each server runs in a new session, so its whole tree (Triton's python stubs, vLLM's engine-core
processes) shares one process group that `stop` can signal at once. The start time from
/proc guards against signalling an unrelated process that reused a recorded PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ManagedProcess:
    name: str
    pid: int
    start_ticks: int
    log: str
    command: list[str]

    def alive(self) -> bool:
        return _start_ticks(self.pid) == self.start_ticks

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ManagedProcess:
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            start_ticks=int(data["start_ticks"]),
            log=str(data["log"]),
            command=[str(part) for part in data["command"]],
        )


# Popen handles of the processes this interpreter started, kept so they are reaped (and not
# reported as leaked) when `stop` ends them; a later `down` from another process uses PIDs.
_HANDLES: dict[int, subprocess.Popen[bytes]] = {}


def spawn(name: str, command: Sequence[str], env: Mapping[str, str], log: Path) -> ManagedProcess:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        handle.write(f"\n=== crossfade lab: starting {name}: {' '.join(command)}\n".encode())
        handle.flush()
        process = subprocess.Popen(
            list(command),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _HANDLES[process.pid] = process
    ticks = _start_ticks(process.pid) or 0
    return ManagedProcess(name, process.pid, ticks, str(log), list(command))


def stop(process: ManagedProcess, grace_s: float = 20.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after `grace_s`."""
    # The group outlives a leader that crashed (Triton's stubs, vLLM's engine cores): signal it
    # while it has members and no other process has taken the leader's PID (the kernel does
    # not hand out a PID that is still some group's id, so those members are ours).
    leader_gone = _start_ticks(process.pid) is None
    if process.alive() or (leader_gone and _group_alive(process.pid)):
        _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _group_alive(process.pid):
            _signal_group(process.pid, signal.SIGKILL)
        _reap(process.pid)
    elif _start_ticks(process.pid) is None:
        _reap(process.pid)  # already gone: collect its exit status if it was ours


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Zombies still count for killpg; look for a live member in /proc.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _pgid_and_state(int(entry.name)) == (pgid, True):
            return True
    return False


def _pgid_and_state(pid: int) -> tuple[int, bool] | None:
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return int(fields[2]), fields[0] != "Z"


def _reap(pid: int) -> None:
    """Collect the exit status of a process this interpreter started (others are not ours)."""
    handle = _HANDLES.pop(pid, None)
    if handle is not None:
        try:
            handle.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _HANDLES[pid] = handle


def _start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return None
    return int(fields[19])


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is [0], pgrp [2], start [19])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()
