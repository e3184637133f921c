"""GPU names as specs, nvidia-smi and node labels spell them -> the databases' systems."""

from __future__ import annotations

import pytest

from crossfade.project.model import ProjectionError
from crossfade.project.systems import SYSTEMS, system_for


@pytest.mark.parametrize(
    ("name", "system"),
    [
        ("H100", "h100_sxm"),
        ("h100_sxm", "h100_sxm"),
        ("NVIDIA-H100-80GB-HBM3", "h100_sxm"),  # the node label of the example specs
        ("NVIDIA H100 PCIe", "h100_pcie"),
        ("NVIDIA A100-SXM4-80GB", "a100_sxm"),
        ("A100 80GB PCIe", "a100_pcie"),
        ("L40S", "l40s"),
        ("l4", "l4"),
        ("GB200", "gb200"),
        ("b200_sxm", "b200_sxm"),
        ("RTX PRO 6000 Blackwell Server Edition", "rtx_pro_6000_server"),
    ],
)
def test_a_gpu_name_finds_its_system(name: str, system: str) -> None:
    assert system_for(name, "--gpu") == system


def test_every_system_is_found_by_its_own_name() -> None:
    for _, system in SYSTEMS:
        assert system_for(system, "--gpu") == system


@pytest.mark.parametrize("name", ["H100 NVL", "RTX 4090", "", "H100 H200"])
def test_an_unknown_gpu_names_the_known_ones(name: str) -> None:
    with pytest.raises(ProjectionError) as error:
        system_for(name, "--gpu")
    message = str(error.value)
    assert message.startswith(f"--gpu {name!r}: no projection system for this GPU")
    assert "H100 (h100_sxm)" in message
    assert "L40S (l40s)" in message
