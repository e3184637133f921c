"""Both Triton repositories from one spec, each in its own folder."""

from __future__ import annotations

from crossfade.render.tree import RenderedTree
from crossfade.render.triton_trtllm import render_trtllm
from crossfade.render.triton_vllm import render_vllm
from crossfade.spec.models import Spec

TRTLLM_FOLDER = "tensorrtllm"
VLLM_FOLDER = "vllm"


def render_triton(spec: Spec) -> RenderedTree:
    """`tensorrtllm/` and `vllm/` model repositories, for each backend the spec has."""
    tree = RenderedTree()
    if spec.tensorrtllm is not None:
        tree.merge(render_trtllm(spec), prefix=f"{TRTLLM_FOLDER}/")
    if spec.vllm is not None:
        tree.merge(render_vllm(spec), prefix=f"{VLLM_FOLDER}/")
    return tree
