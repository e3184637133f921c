"""scripts/gen_crd_schemas.py on a small CRD written here: structural schema only, its source
recorded, byte-identical output on every run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.servers

SCRIPT = ROOT / "scripts/gen_crd_schemas.py"
SOURCES = """\
[[source]]
repository = "example/widgets"
commit = "abc1234"
path = "crds/widgets.yaml"
group = "example.com"
kinds = ["Widget"]
"""
# Two CRDs in one file: the wanted Widget (in two versions sharing a schema, with prose, a
# default, a CEL rule and list markers to drop) and a Gadget no source asks for.
CRDS = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: &schema
        description: A widget, described at length.
        type: object
        properties:
          spec:
            description: What the widget should be.
            type: object
            required: [size]
            x-kubernetes-validations:
            - {rule: "self.size > 0", message: size must be positive}
            properties:
              size: {type: integer, minimum: 0, default: 1, description: How big.}
              colour: {type: string, enum: [red, blue], description: Its colour.}
              port: {x-kubernetes-int-or-string: true, description: A port.}
              tags:
                type: array
                x-kubernetes-list-type: set
                items: {type: string, pattern: "^[a-z]+$"}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    deprecationWarning: example.com/v1beta1 Widget is deprecated, said at length
    schema:
      openAPIV3Schema: *schema
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object}}
"""


def generate(tmp_path: Path, out: Path, *inputs: Path) -> subprocess.CompletedProcess[str]:
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES, encoding="utf-8")
    argv = [
        sys.executable,
        str(SCRIPT),
        "--sources",
        str(sources),
        "-o",
        str(out),
        *map(str, inputs),
    ]
    return subprocess.run(argv, capture_output=True, text=True, check=False, cwd=tmp_path)


def test_structural_schema_only_with_its_source_and_identical_bytes(tmp_path: Path) -> None:
    crds = tmp_path / "upstream" / "widgets.yaml"
    crds.parent.mkdir()
    crds.write_text(CRDS, encoding="utf-8")
    first, second = tmp_path / "first", tmp_path / "second"
    second.mkdir()
    (second / "stale.json").write_text("{}", encoding="utf-8")
    assert generate(tmp_path, first, crds).returncode == 0
    assert generate(tmp_path, second, crds.parent).returncode == 0  # a folder works too
    files = sorted(p.name for p in first.iterdir())
    assert files == ["example.com_Widget.json", "index.json"]
    assert sorted(p.name for p in second.iterdir()) == files  # the stale file is gone
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes()

    widget = json.loads((first / "example.com_Widget.json").read_text(encoding="utf-8"))
    assert widget["source"] == "example/widgets@abc1234:crds/widgets.yaml"
    assert widget["versions"] == [
        {"name": "v1", "served": True, "deprecated": False, "schema": 0},
        {"name": "v1beta1", "served": True, "deprecated": True, "schema": 0},
    ]
    (schema,) = widget["schemas"]
    spec = schema["properties"]["spec"]
    assert spec["required"] == ["size"]
    assert spec["properties"] == {
        "size": {"type": "integer", "minimum": 0},
        "colour": {"type": "string", "enum": ["red", "blue"]},
        "port": {"x-kubernetes-int-or-string": True},
        "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}},
        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }
    text = (first / "example.com_Widget.json").read_text(encoding="utf-8")
    assert "length" not in text  # neither the descriptions nor the deprecation warning
    assert "self.size" not in text

    index = json.loads((first / "index.json").read_text(encoding="utf-8"))
    (source,) = index["sources"]
    assert (source["repository"], source["commit"], source["path"]) == (
        "example/widgets",
        "abc1234",
        "crds/widgets.yaml",
    )
    assert list(source["sha256"]) == ["Widget"]
    assert "scripts/gen_crd_schemas.py" in index["generated_by"]
    assert str(tmp_path) not in (first / "index.json").read_text(encoding="utf-8")


def test_a_kind_no_input_defines_is_refused(tmp_path: Path) -> None:
    crds = tmp_path / "gadgets.yaml"
    crds.write_text(CRDS.split("---\n")[1], encoding="utf-8")
    out = tmp_path / "out"
    done = generate(tmp_path, out, crds)
    assert done.returncode == 2
    assert "no CRD given for Widget of example/widgets@abc1234:crds/widgets.yaml" in done.stderr
    assert not out.exists()
