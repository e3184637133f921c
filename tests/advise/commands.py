"""The crossfade commands shown in advice text: each in backticks, and each one crossfade's own
parser takes as it is printed."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Sequence

from crossfade.cli import COMMANDS, build_parser

SHOWN = re.compile(r"`(crossfade [^`]*)`")
NAMED = re.compile(r"\bcrossfade (?:" + "|".join(COMMANDS) + r")\b")


def shown_commands(texts: Sequence[str]) -> list[list[str]]:
    """Every command shown in `texts`, as argv; asserts that each parses as printed (a --help
    only prints) and that no command is named outside backticks, in prose."""
    parser = build_parser()
    found = []
    for text in texts:
        assert not NAMED.search(SHOWN.sub("", text)), f"a command in prose: {text}"
        for command in SHOWN.findall(text):
            argv = shlex.split(command)
            assert _parses(parser, argv), f"crossfade refuses: {command}"
            found.append(argv)
    return found


def _parses(parser: argparse.ArgumentParser, argv: list[str]) -> bool:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(argv[1:])
    except SystemExit as stop:  # argparse's way out: after --help, or on an error
        return stop.code == 0 and "--help" in argv
    return True
