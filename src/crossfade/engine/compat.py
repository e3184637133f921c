"""What a Triton TensorRT-LLM container runs, what a GPU's SM is, and whether two builds match.

An engine is a serialized TensorRT plan: it loads only under the TensorRT-LLM (and TensorRT)
release that built it, on a GPU with the same compute capability. This module holds the facts
needed to check both, with no file access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from crossfade.errors import UsageError

TRTLLM_TAG_SUFFIX = "-trtllm-python-py3"
# The last TensorRT-LLM release with the TensorRT engine backend (trtllm-build, the C++ Triton
# backend): its release notes (NVIDIA/TensorRT-LLM releases, v1.3.0rc20, 30 Jun 2026) say so, and
# NVIDIA/TensorRT-LLM PRs #15907, #15918 and #16369 removed the engine backend after it.
# 1.3.0rc21 and every later release (1.3.0, 1.4, ...) load Hugging Face checkpoints only.
LAST_ENGINE_RELEASE = "1.3.0rc20"


def migration_command(repository: str = "REPO") -> str:
    """What a team on engines runs to get the LLM API model serving the same checkpoint."""
    return (
        f"crossfade init crossfade.yaml --from-repository {repository} && "
        "crossfade render triton crossfade.yaml -o NEW_REPO"
    )


# (first YY.MM, last YY.MM, TensorRT-LLM, TensorRT) per run of `-trtllm-python-py3` releases,
# from Triton's compatibility matrix (triton-inference-server/server
# docs/introduction/compatibility.md; at e1db8a6, 2026-08-19, it lists 24.04 to 26.07; the rows
# of 26.04 to 26.07 came with server PRs #8759, #8801, #8859 and #8902). A run covers every month
# from first to last. Every release listed ships a TensorRT-LLM that still has the engine
# backend (`has_engine_backend`). Triton 26.08, 26.09 and 26.10 are released (their release
# notes are published), but which TensorRT-LLM they ship could not be verified from the
# compatibility matrix or the release notes at hand: they are left out until it can be.
_RELEASE_RUNS: tuple[tuple[str, str, str, str], ...] = (
    ("24.04", "24.04", "0.9.0", "9.3"),
    ("24.05", "24.05", "0.9.0", "10.0.1"),
    ("24.06", "24.06", "0.10.0", "10.0.1"),
    ("24.07", "24.07", "0.11.0", "10.1"),
    ("24.08", "24.08", "0.12.0", "10.3"),
    ("24.09", "24.09", "0.13.0", "10.4"),
    ("24.10", "24.10", "0.14.0", "10.4"),
    ("24.11", "24.11", "0.15.0", "10.6"),
    ("24.12", "24.12", "0.16.0", "10.7"),
    ("25.01", "25.01", "0.17.0", "10.8"),
    ("25.02", "25.02", "0.17.0.post1", "10.8"),
    ("25.03", "25.03", "0.18.0", "10.9"),
    ("25.04", "25.04", "0.18.2", "10.9"),
    ("25.05", "25.05", "0.19.0", "10.9"),
    ("25.06", "25.07", "0.20.0", "10.10"),
    ("25.08", "25.08", "0.21.0", "10.11"),
    ("25.09", "25.10", "1.0.0", "10.11"),
    ("25.11", "25.11", "1.0.3", "10.13.3"),
    ("25.12", "26.02", "1.1.0", "10.13.3"),
    ("26.03", "26.03", "1.2.0", "10.14.1"),
    ("26.04", "26.07", "1.2.1", "10.14.1"),
)


@dataclass(frozen=True)
class ImageVersions:
    """The TensorRT-LLM and TensorRT releases inside one `YY.MM-trtllm-python-py3` image."""

    tag: str
    release: str
    trtllm_version: str
    tensorrt_version: str

    @property
    def engine_backend(self) -> bool:
        """Whether this image's TensorRT-LLM can still load a TensorRT engine."""
        return has_engine_backend(self.trtllm_version)


def _months(first: str, last: str) -> list[str]:
    year, month = (int(part) for part in first.split("."))
    end = tuple(int(part) for part in last.split("."))
    months = []
    while (year, month) <= end:
        months.append(f"{year:02d}.{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


CONTAINER_RELEASES: dict[str, tuple[str, str]] = {
    month: (trtllm, tensorrt)
    for first, last, trtllm, tensorrt in _RELEASE_RUNS
    for month in _months(first, last)
}


def known_image_tags() -> list[str]:
    return [f"{release}{TRTLLM_TAG_SUFFIX}" for release in CONTAINER_RELEASES]


def parse_image_tag(reference: str) -> ImageVersions:
    """Versions inside a Triton TRT-LLM image, from a bare tag or a full `name:tag` reference."""
    text = reference.strip().split("@", 1)[0]  # a pinned digest says nothing about versions
    tag = text.rsplit(":", 1)[-1]
    if "/" in tag:  # "host:port/name" with no tag: the colon belonged to the port
        raise UsageError(f"image {reference!r} has no tag; pass e.g. 25.12{TRTLLM_TAG_SUFFIX}")
    match = re.fullmatch(r"(\d{2}\.\d{2})(-.*)", tag)
    if match is None or match.group(2) != TRTLLM_TAG_SUFFIX:
        raise UsageError(
            f"image tag {tag!r} is not a Triton TensorRT-LLM image: "
            f"expected YY.MM{TRTLLM_TAG_SUFFIX}, e.g. tritonserver:25.12{TRTLLM_TAG_SUFFIX}"
        )
    release = match.group(1)
    if release not in CONTAINER_RELEASES:
        raise UsageError(f"unknown image tag {tag!r}; known tags: {', '.join(known_image_tags())}")
    trtllm, tensorrt = CONTAINER_RELEASES[release]
    return ImageVersions(tag, release, trtllm, tensorrt)


def image_tags_for_trtllm(version: str) -> list[str]:
    """Known images running exactly this TensorRT-LLM release (to suggest one to serve with)."""
    return [
        f"{release}{TRTLLM_TAG_SUFFIX}"
        for release, (trtllm, _) in CONTAINER_RELEASES.items()
        if trtllm == version
    ]


def newest_engine_image() -> str:
    """The newest known image whose TensorRT-LLM still has the engine backend."""
    releases = [r for r, (trtllm, _) in CONTAINER_RELEASES.items() if has_engine_backend(trtllm)]
    return f"{max(releases)}{TRTLLM_TAG_SUFFIX}"


def has_engine_backend(version: str) -> bool:
    """Whether a TensorRT-LLM release still has the TensorRT engine backend: every release up
    to LAST_ENGINE_RELEASE (1.3.0rc20). "1.0.3.2510" and "0.17.0.post1" are builds of 1.0.3 and
    0.17.0; a version that cannot be read is taken as an engine-era one."""
    release, last = _release(version), _release(LAST_ENGINE_RELEASE)
    return release is None or last is None or release <= last


def at_least(version: str, minimum: str) -> bool:
    """Whether TensorRT-LLM `version` is `minimum` or later (False if either cannot be read)."""
    release, floor = _release(version), _release(minimum)
    return release is not None and floor is not None and release >= floor


def _release(version: str) -> tuple[int, int, int, float] | None:
    """(major, minor, patch, release candidate) in release order: a final release comes after
    all of its release candidates."""
    match = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:rc(\d+))?", version.strip())
    if match is None:
        return None
    major, minor, patch, candidate = match.groups()
    rc = float(candidate) if candidate is not None else float("inf")
    return int(major), int(minor), int(patch or 0), rc


class VersionMatch(StrEnum):
    SAME = "same"
    POST_RELEASE = "post-release"  # e.g. 0.17.0 vs 0.17.0.post1: same release, patched wheel
    DIFFERENT = "different"


def _split_version(version: str) -> tuple[tuple[int, ...], str] | None:
    match = re.fullmatch(r"v?(\d+(?:\.\d+)*)(.*)", version.strip())
    if match is None:
        return None
    numbers = tuple(int(part) for part in match.group(1).split("."))
    while len(numbers) > 1 and numbers[-1] == 0:  # "0.9" and "0.9.0" name the same release
        numbers = numbers[:-1]
    return numbers, match.group(2)


def match_trtllm_versions(built_with: str, served_by: str) -> VersionMatch:
    """How the TensorRT-LLM that built an engine relates to the one asked to serve it."""
    built, served = _split_version(built_with), _split_version(served_by)
    if built is None or served is None:
        same = built_with.strip() == served_by.strip()
        return VersionMatch.SAME if same else VersionMatch.DIFFERENT
    if built == served:
        return VersionMatch.SAME
    post_only = all(re.fullmatch(r"(?:[.\-_]?post\d*)?", suffix) for _, suffix in (built, served))
    if built[0] == served[0] and post_only:
        return VersionMatch.POST_RELEASE
    return VersionMatch.DIFFERENT


def same_tensorrt_release(first: str, second: str) -> bool:
    """Whether two TensorRT versions can name the same build ("10.13.3" and "10.13.3.9" can).

    The container table gives two or three parts while an installed wheel reports four, so only
    the parts both name are compared.
    """
    first_parts, second_parts = first.strip().split("."), second.strip().split(".")
    shared = min(len(first_parts), len(second_parts))
    return first_parts[:shared] == second_parts[:shared]


@dataclass(frozen=True)
class GpuTarget:
    """A GPU as named by a person or nvidia-smi, with its compute capability ("9.0")."""

    name: str
    compute_capability: str


_GPU_CAPABILITIES: tuple[tuple[str, str], ...] = (
    ("V100", "7.0"),
    ("T4", "7.5"),
    ("A100", "8.0"),
    ("A30", "8.0"),
    ("A10", "8.6"),
    ("A10G", "8.6"),
    ("A40", "8.6"),
    ("L4", "8.9"),
    ("L40", "8.9"),
    ("L40S", "8.9"),
    ("RTX 4090", "8.9"),
    ("H100", "9.0"),
    ("H200", "9.0"),
    ("GH200", "9.0"),
    ("H20", "9.0"),
    ("B200", "10.0"),
    ("GB200", "10.0"),
    ("RTX PRO 6000 Blackwell", "12.0"),
)

# Words nvidia-smi and spec sheets add around the model name that do not change the SM.
_NOISE_WORD = re.compile(r"NVIDIA|TESLA|GEFORCE|SXM\d*|PCIE|NVL|HBM\d*E?|\d+GB?|MIG\S*")


def _name_words(name: str) -> tuple[str, ...]:
    words = re.sub(r"[-_/,()]", " ", name.upper()).split()
    return tuple(word for word in words if not _NOISE_WORD.fullmatch(word))


def known_gpu_names() -> list[str]:
    return [name for name, _ in _GPU_CAPABILITIES]


def resolve_gpu(name: str) -> GpuTarget:
    """Compute capability for a GPU name ("NVIDIA H100 80GB HBM3", "h100-sxm") or "9.0"/"sm_90"."""
    text = name.strip()
    if bare := re.fullmatch(r"(\d{1,2})\.(\d)", text) or re.fullmatch(
        r"sm_?(\d{1,2})(\d)", text, re.IGNORECASE
    ):
        capability = f"{int(bare.group(1))}.{bare.group(2)}"
        return GpuTarget(f"SM {capability}", capability)
    words = _name_words(text)
    # Longest known name first, matched word by word, so "A10G" never matches "A10".
    for known, capability in sorted(_GPU_CAPABILITIES, key=lambda row: -len(row[0].split())):
        known_words = _name_words(known)
        if words[: len(known_words)] == known_words:
            return GpuTarget(text, capability)
    raise UsageError(
        f"unknown GPU {name!r}; known: {', '.join(known_gpu_names())}; "
        "or pass its compute capability, e.g. --gpu 9.0"
    )
