"""Stable YAML text for manifests: keys in the order the dicts were built, multi-line strings
as literal blocks (a config.pbtxt stays readable in its ConfigMap), no anchors or aliases."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

Manifest = dict[str, Any]


class _ManifestDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        # A labels dict shared by two objects must be written out twice, not as &id001.
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ManifestDumper.add_representer(str, _represent_str)


def dump_manifest(manifest: Manifest) -> str:
    text: str = yaml.dump(
        manifest,
        Dumper=_ManifestDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    return text


def dump_documents(manifests: Iterable[Manifest], header: Iterable[str] = ()) -> str:
    """One YAML stream: comment lines, then each document after its own `---`."""
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header)
    return comments + "".join(f"---\n{dump_manifest(manifest)}" for manifest in manifests)
