"""GPU names as a spec or a person gives them ("H100", "NVIDIA-H100-80GB-HBM3", "L40S") -> the
system names of AIConfigurator's databases ("h100_sxm", "l40s"). The form factor matters here,
unlike for an engine's compute capability: an H100 SXM and an H100 PCIe are different systems.
Whether the installed library has a database for a system is the worker's to say."""

from __future__ import annotations

import re

from crossfade.project.model import ProjectionError

# (the words of a GPU's name, its system). A bare "H100" is the SXM part (the 80 GB HBM3 board
# of HGX servers); the PCIe card is named so.
SYSTEMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("H100", "PCIE"), "h100_pcie"),
    (("H100",), "h100_sxm"),
    (("H200",), "h200_sxm"),
    (("A100", "PCIE"), "a100_pcie"),
    (("A100",), "a100_sxm"),
    (("GB200",), "gb200"),
    (("GB300",), "gb300"),
    (("B200",), "b200_sxm"),
    (("B300",), "b300_sxm"),
    (("L40S",), "l40s"),
    (("L4",), "l4"),
    (("A30",), "a30"),
    (("RTX", "PRO", "6000"), "rtx_pro_6000_server"),
)
# Words around the model name that do not change the system.
_NOISE = re.compile(r"NVIDIA|TESLA|SXM\d*|HBM\d*E?|\d+GB?|SERVER|EDITION|BLACKWELL")


def _words(name: str) -> frozenset[str]:
    words = re.sub(r"[-_/,()]", " ", name.upper()).split()
    return frozenset(word for word in words if not _NOISE.fullmatch(word))


def system_for(gpu: str, flag: str) -> str:
    """The database system for `gpu`; `flag` is where the name came from (for the error)."""
    words = _words(gpu)
    for needed, system in SYSTEMS:
        # Exactly the row's words: a word it does not explain ("H100 NVL") is another part.
        if words == frozenset(needed):
            return system
    known = ", ".join(f"{' '.join(words)} ({system})" for words, system in SYSTEMS)
    raise ProjectionError(
        f"{flag} {gpu!r}: no projection system for this GPU; known: {known}; give one of these "
        "names or a system name"
    )
