"""The emulators' override file for integration tests: written for one block, then removed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crossfade.lab.settings import LabSettings

# The emulators read the file every 0.2 s: long enough to be sure they have.
SETTLE_S = 0.6


@contextmanager
def emulator_overrides(settings: LabSettings, data: dict[str, Any]) -> Iterator[None]:
    """The override file holds `data` inside the block; afterwards it is gone, which restores
    the emulators' base timing."""
    path = settings.emulator_overrides
    path.write_text(json.dumps(data), encoding="utf-8")
    try:
        time.sleep(SETTLE_S)
        yield
    finally:
        path.unlink(missing_ok=True)
        time.sleep(SETTLE_S)
