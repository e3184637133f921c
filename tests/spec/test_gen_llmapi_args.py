"""scripts/gen_llmapi_args.py on a small llm_args.py written here: fields through inheritance,
pydantic aliases, nothing private, byte-identical output; and the committed table it wrote."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crossfade.spec import llmapi_args, llmapi_args_known
from tests.support.paths import ROOT

SCRIPT = ROOT / "scripts/gen_llmapi_args.py"
# The shapes upstream's file uses, in miniature: a base class with the common arguments, the
# PyTorch class adding its own, nested configs (one through a base and an alias), and the
# arguments removed but still accepted.
SOURCE = """\
from typing import ClassVar, Literal, Optional, Union
from pydantic import AliasChoices, PrivateAttr
from pydantic import Field as PydanticField
from .utils import StrictBaseModel


def Field(default=..., **kwargs):
    return PydanticField(default, **kwargs)


class KvBase(StrictBaseModel):
    tokens_per_block: int = 32


class KvCacheConfig(KvBase):
    free_gpu_memory_fraction: Optional[float] = Field(default=0.9)
    _pool: int = PrivateAttr(default=0)
    LIMIT: ClassVar[int] = 3


class SchedulerConfig(StrictBaseModel):
    capacity_scheduler_policy: str = "GUARANTEED_NO_EVICT"


class DecodeCudaGraphConfig(StrictBaseModel):
    mode: Literal["decode"] = "decode"
    batch_sizes: Optional[list] = None


class EncodeCudaGraphConfig(StrictBaseModel):
    mode: Literal["encode"] = "encode"
    num_tokens: Optional[list] = None


CudaGraphConfig = DecodeCudaGraphConfig


class MoeConfig(StrictBaseModel):
    backend: str = "AUTO"


class AttentionDpConfig(StrictBaseModel):
    enable_balance: bool = False


class TorchCompileConfig(StrictBaseModel):
    enable_inductor: bool = False


class BaseLlmArgs(StrictBaseModel):
    model: str = Field(description="checkpoint")
    mpi_session: Optional[object] = Field(default=None, alias="_mpi_session")
    draft: Optional[str] = Field(
        default=None, validation_alias=AliasChoices("draft", "draft_dir"))
    kv_cache_config: KvCacheConfig = Field(default_factory=KvCacheConfig)
    scheduler_config: SchedulerConfig = Field(default_factory=SchedulerConfig)
    _parallel: Optional[int] = PrivateAttr(default=None)


_TORCH_LLMARGS_REMOVED_ARG_CHECKS = {"sampler_type": print}


class TorchLlmArgs(BaseLlmArgs):
    cuda_graph_config: Union[DecodeCudaGraphConfig, EncodeCudaGraphConfig, None] = None
    moe_config: MoeConfig = Field(default_factory=MoeConfig)
    attention_dp_config: Optional[AttentionDpConfig] = None
    torch_compile_config: TorchCompileConfig | None = None
    backend: Literal["pytorch"] = "pytorch"
    DOCS: ClassVar[str] = "not an argument"
"""


def _generate(source: Path, output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(SCRIPT), str(source), "--version", "9.9.9", "--commit", "abc123"]
    return subprocess.run(
        [*argv, "--output", str(output), *extra], capture_output=True, text=True, check=False
    )


def _table(tmp_path: Path, source_text: str = SOURCE) -> tuple[dict[str, Any], str]:
    tmp_path.mkdir(exist_ok=True)
    source = tmp_path / "llm_args.py"
    source.write_text(source_text, encoding="utf-8")
    output = tmp_path / "known.py"
    result = _generate(source, output)
    assert result.returncode == 0, result.stderr
    return runpy.run_path(str(output)), output.read_text(encoding="utf-8")


@pytest.mark.servers
def test_fields_come_through_inheritance_and_aliases(tmp_path: Path) -> None:
    table, _ = _table(tmp_path)
    assert table["LLM_ARGS"] == {
        "model",
        "mpi_session",
        "_mpi_session",  # alias
        "draft",
        "draft_dir",  # AliasChoices
        "kv_cache_config",
        "scheduler_config",
        "cuda_graph_config",
        "moe_config",
        "attention_dp_config",
        "torch_compile_config",
        "backend",
    }
    assert table["KV_CACHE_CONFIG_ARGS"] == {"tokens_per_block", "free_gpu_memory_fraction"}
    # A union takes the keys of both members; the alias CudaGraphConfig resolves.
    assert table["CUDA_GRAPH_CONFIG_ARGS"] == {"mode", "batch_sizes", "num_tokens"}
    assert table["NESTED_ARGS"]["scheduler_config"] == {"capacity_scheduler_policy"}
    assert table["REMOVED_LLM_ARGS"] == {"sampler_type"}
    assert table["NULLABLE_NESTED_ARGS"] == {
        "cuda_graph_config",
        "attention_dp_config",
        "torch_compile_config",
    }
    assert table["TRTLLM_VERSION"] == "9.9.9"
    assert table["SOURCE"] == "NVIDIA/TensorRT-LLM@abc123 tensorrt_llm/llmapi/llm_args.py"


@pytest.mark.servers
def test_output_is_deterministic(tmp_path: Path) -> None:
    _, first = _table(tmp_path / "a")
    _, again = _table(tmp_path / "a")
    # The same classes written in another order give the same table (the digest aside).
    moe = 'class MoeConfig(StrictBaseModel):\n    backend: str = "AUTO"\n\n\n'
    moved = SOURCE.replace(moe, "") + "\n\n" + moe
    _, reordered = _table(tmp_path / "b", moved)
    assert first == again
    digest = re.compile(r'SOURCE_SHA256 = "\w+"')
    assert digest.sub("", first) == digest.sub("", reordered)


@pytest.mark.servers
def test_a_missing_class_or_nested_field_fails_loudly(tmp_path: Path) -> None:
    source = tmp_path / "llm_args.py"
    source.write_text(SOURCE.replace("    moe_config: MoeConfig", "    moe: MoeConfig"))
    result = _generate(source, tmp_path / "known.py")
    assert result.returncode == 2
    assert "has no field moe_config" in result.stderr
    source.write_text(SOURCE.replace("TorchLlmArgs", "OtherArgs"))
    assert "class TorchLlmArgs is not defined" in _generate(source, tmp_path / "k.py").stderr
    assert not (tmp_path / "known.py").exists()


def test_the_committed_table_names_its_source_and_holds_no_engine_keys() -> None:
    assert re.fullmatch(
        r"NVIDIA/TensorRT-LLM@[0-9a-f]{40} tensorrt_llm/llmapi/llm_args.py",
        llmapi_args_known.SOURCE,
    )
    assert {"model", "tensor_parallel_size", "kv_cache_config", "max_num_tokens"} <= (
        llmapi_args.LLM_ARGS
    )
    # Keys of the engine workflow are not LLM() arguments in the release the table comes from.
    engine_era = set(llmapi_args.ENGINE_ERA_KEYS)
    assert not engine_era & (llmapi_args_known.LLM_ARGS | llmapi_args_known.REMOVED_LLM_ARGS)
