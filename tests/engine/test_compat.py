from __future__ import annotations

import pytest

from crossfade.engine.compat import (
    CONTAINER_RELEASES,
    LAST_ENGINE_RELEASE,
    VersionMatch,
    has_engine_backend,
    image_tags_for_trtllm,
    known_image_tags,
    match_trtllm_versions,
    newest_engine_image,
    parse_image_tag,
    resolve_gpu,
    same_tensorrt_release,
)
from crossfade.errors import UsageError


@pytest.mark.parametrize(
    ("reference", "release", "trtllm", "tensorrt"),
    [
        ("25.12-trtllm-python-py3", "25.12", "1.1.0", "10.13.3"),
        ("tritonserver:25.12-trtllm-python-py3", "25.12", "1.1.0", "10.13.3"),
        ("team/tritonserver:24.05-trtllm-python-py3@sha256:0123abcd", "24.05", "0.9.0", "10.0.1"),
        ("25.02-trtllm-python-py3", "25.02", "0.17.0.post1", "10.8"),
        # Month ranges in the table are expanded, across a year boundary too.
        ("25.07-trtllm-python-py3", "25.07", "0.20.0", "10.10"),
        ("25.10-trtllm-python-py3", "25.10", "1.0.0", "10.11"),
        ("26.01-trtllm-python-py3", "26.01", "1.1.0", "10.13.3"),
        ("26.06-trtllm-python-py3", "26.06", "1.2.1", "10.14.1"),
    ],
)
def test_parse_image_tag(reference: str, release: str, trtllm: str, tensorrt: str) -> None:
    image = parse_image_tag(reference)
    assert (image.release, image.trtllm_version, image.tensorrt_version) == (
        release,
        trtllm,
        tensorrt,
    )
    assert image.tag == f"{release}-trtllm-python-py3"


def test_table_covers_every_month_from_24_04_to_26_07() -> None:
    releases = list(CONTAINER_RELEASES)
    assert releases[0] == "24.04"
    assert releases[-1] == "26.07"
    assert len(releases) == 9 + 12 + 7  # 24.04-24.12, all of 2025, 26.01-26.07
    assert len(known_image_tags()) == len(releases)


def test_unknown_tag_lists_known_tags() -> None:
    with pytest.raises(UsageError, match=r"unknown image tag '23\.10-trtllm-python-py3'") as info:
        parse_image_tag("tritonserver:23.10-trtllm-python-py3")
    assert "24.04-trtllm-python-py3" in str(info.value)
    assert "26.07-trtllm-python-py3" in str(info.value)


@pytest.mark.parametrize(
    "reference",
    ["tritonserver:25.12-vllm-python-py3", "25.12-py3", "tritonserver", "latest"],
)
def test_non_trtllm_image_is_rejected(reference: str) -> None:
    with pytest.raises(UsageError, match="not a Triton TensorRT-LLM image"):
        parse_image_tag(reference)


def test_image_tags_for_trtllm_finds_every_month() -> None:
    assert image_tags_for_trtllm("1.1.0") == [
        "25.12-trtllm-python-py3",
        "26.01-trtllm-python-py3",
        "26.02-trtllm-python-py3",
    ]
    assert image_tags_for_trtllm("0.7.1") == []


@pytest.mark.parametrize(
    ("name", "capability"),
    [
        ("NVIDIA H100 80GB HBM3", "9.0"),
        ("H100-SXM", "9.0"),
        ("h100 pcie", "9.0"),
        ("NVIDIA H100 NVL", "9.0"),
        ("NVIDIA H200", "9.0"),
        ("NVIDIA GH200 480GB", "9.0"),
        ("NVIDIA H20", "9.0"),
        ("NVIDIA A100-SXM4-80GB", "8.0"),
        ("NVIDIA A30", "8.0"),
        ("NVIDIA A10G", "8.6"),
        ("A10", "8.6"),
        ("NVIDIA A40", "8.6"),
        ("NVIDIA L4", "8.9"),
        ("NVIDIA L40S", "8.9"),
        ("L40", "8.9"),
        ("NVIDIA GeForce RTX 4090", "8.9"),
        ("Tesla V100-SXM2-16GB", "7.0"),
        ("Tesla T4", "7.5"),
        ("NVIDIA B200", "10.0"),
        ("GB200", "10.0"),
        ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "12.0"),
        ("9.0", "9.0"),
        ("sm_120", "12.0"),
        ("SM89", "8.9"),
    ],
)
def test_resolve_gpu(name: str, capability: str) -> None:
    assert resolve_gpu(name).compute_capability == capability


def test_resolve_gpu_keeps_the_given_name() -> None:
    assert resolve_gpu("NVIDIA L40S").name == "NVIDIA L40S"
    assert resolve_gpu("8.9").name == "SM 8.9"


@pytest.mark.parametrize("name", ["GTX 1080", "H", "A1000"])
def test_unknown_gpu_suggests_compute_capability(name: str) -> None:
    with pytest.raises(UsageError, match=r"unknown GPU .*--gpu 9\.0"):
        resolve_gpu(name)


@pytest.mark.parametrize(
    ("built", "served", "verdict"),
    [
        ("1.1.0", "1.1.0", VersionMatch.SAME),
        ("0.9", "0.9.0", VersionMatch.SAME),
        ("0.17.0", "0.17.0.post1", VersionMatch.POST_RELEASE),
        ("0.17.0.post1", "0.17.0", VersionMatch.POST_RELEASE),
        ("0.18.0", "0.18.2", VersionMatch.DIFFERENT),
        ("1.0.0rc3", "1.0.0", VersionMatch.DIFFERENT),
        ("0.16.0", "1.1.0", VersionMatch.DIFFERENT),
        ("0.17.0.post1", "0.18.0", VersionMatch.DIFFERENT),
        ("main", "1.1.0", VersionMatch.DIFFERENT),
    ],
)
def test_match_trtllm_versions(built: str, served: str, verdict: VersionMatch) -> None:
    assert match_trtllm_versions(built, served) is verdict


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("10.13.3", "10.13.3.9", True),
        ("10.8", "10.8.0.43", True),
        ("9.3", "10.0.1", False),
        ("9.2.0.4", "9.2.0.5", False),
        ("10.13.3", "10.14.1", False),
    ],
)
def test_same_tensorrt_release(first: str, second: str, same: bool) -> None:
    assert same_tensorrt_release(first, second) is same


@pytest.mark.parametrize(
    ("version", "engines"),
    [
        ("0.17.0.post1", True),
        ("1.0.3.2510", True),  # a build of 1.0.3
        ("1.2.1", True),
        ("1.3.0rc20", True),  # the last release with the engine backend
        ("1.3.0rc21", False),
        ("1.3.0", False),  # the final release comes after all its candidates
        ("1.4.0rc0", False),
        ("2.0", False),
    ],
)
def test_which_releases_still_have_the_engine_backend(version: str, engines: bool) -> None:
    assert has_engine_backend(version) is engines


def test_every_known_image_still_loads_engines_and_26_07_is_the_newest() -> None:
    # Every release the compatibility matrix lists ships TensorRT-LLM 1.2.1 or older.
    assert all(parse_image_tag(tag).engine_backend for tag in known_image_tags())
    assert newest_engine_image() == "26.07-trtllm-python-py3"
    assert LAST_ENGINE_RELEASE == "1.3.0rc20"
