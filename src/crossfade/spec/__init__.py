"""The spec: pydantic models of crossfade.yaml and the loader that reports errors by line."""

from crossfade.spec.load import load_spec, parse_spec
from crossfade.spec.models import Spec

__all__ = ["Spec", "load_spec", "parse_spec"]
