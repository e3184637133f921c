"""Documents saved by earlier crossfade versions (see saved/README.md)."""

from __future__ import annotations

from pathlib import Path

SAVED = Path(__file__).resolve().parent / "saved"
A613DB6 = SAVED / "a613db6"  # result.json schema 1, sweep.json 1, comparison.json 2
C2626E4 = SAVED / "c2626e4"  # result.json schema 2, before server_clock
