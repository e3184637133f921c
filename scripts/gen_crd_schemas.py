"""Regenerate src/crossfade/lint/k8s/crd_schemas/ from upstream CustomResourceDefinitions.

Download the CRD files listed in scripts/crd_sources.toml (each at its commit), then:
    python scripts/gen_crd_schemas.py CRD_FILE_OR_DIR...

Each CRD is matched to its source by group, kind and Gateway API channel, and only its
structural schema is kept (types, properties, required keys, enums, formats, patterns, bounds
and the Kubernetes markers; no descriptions, defaults or CEL rules), one JSON file per kind
with sorted keys, so the same inputs give byte-identical files. index.json lists the files and
each source's repository, commit, path and the SHA-256 of the file it was read from.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crossfade.lint.k8s.crds import CrdVersion, crd_versions, structural
from crossfade.lint.k8s.shipped import INDEX

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "scripts/crd_sources.toml"
TARGET = ROOT / "src/crossfade/lint/k8s/crd_schemas"
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Source:
    """One upstream CRD file, as scripts/crd_sources.toml describes it."""

    repository: str
    commit: str
    path: str
    group: str
    kinds: list[str]
    channel: str | None = None
    release: str | None = None
    sha256: dict[str, str] = field(default_factory=dict)  # kind -> hash of the file it came from

    @property
    def cited(self) -> str:
        return f"{self.repository}@{self.commit}:{self.path}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", type=Path, metavar="CRD_FILE_OR_DIR")
    parser.add_argument("--sources", type=Path, default=SOURCES, help="default: %(default)s")
    parser.add_argument("-o", "--out", type=Path, default=TARGET, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        sources = read_sources(args.sources)
        found = collect(input_files(args.inputs), sources)
    except ValueError as exc:
        print(f"gen_crd_schemas: {exc}", file=sys.stderr)
        return 2
    written = write(found, sources, args.out, _shown(args.sources))
    sizes = sum((args.out / name).stat().st_size for name in written)
    print(f"{len(written)} files, {sizes} bytes -> {args.out}")
    return 0


def read_sources(path: Path) -> list[Source]:
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("source", [])
    try:
        return [Source(**entry) for entry in entries]
    except TypeError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def input_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        elif path.is_file():
            files.append(path)
        else:
            raise ValueError(f"{path}: no such file or folder")
    return files


def collect(files: list[Path], sources: list[Source]) -> dict[tuple[int, str], list[CrdVersion]]:
    """(source index, kind) -> its versions, each from exactly one CRD among `files`."""
    found: dict[tuple[int, str], list[CrdVersion]] = {}
    for file in files:
        data = file.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        for document in yaml.load_all(data, _LOADER):
            if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
                continue
            versions = crd_versions(document, str(file))
            if not versions:
                continue
            first = versions[0]
            for number, source in enumerate(sources):
                wanted = first.group == source.group and first.kind in source.kinds
                if wanted and first.channel == source.channel:
                    if (number, first.kind) in found:
                        raise ValueError(f"{first.kind} of {source.cited} is given twice")
                    found[(number, first.kind)] = versions
                    source.sha256[first.kind] = digest
    missing = [
        f"{kind} of {source.cited}"
        for number, source in enumerate(sources)
        for kind in source.kinds
        if (number, kind) not in found
    ]
    if missing:
        raise ValueError("no CRD given for " + "; ".join(missing))
    return found


def write(
    found: dict[tuple[int, str], list[CrdVersion]], sources: list[Source], out: Path, shown: str
) -> list[str]:
    """The schema files and index.json in `out` (other .json files there are removed)."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    kinds = []
    for (number, kind), versions in sorted(found.items()):
        source = sources[number]
        name = "_".join(filter(None, (source.group, kind, source.channel))) + ".json"
        files[name] = schema_file(versions, source)
        kinds.append({"group": source.group, "kind": kind, "channel": source.channel, "file": name})
    files[INDEX] = {
        "generated_by": f"python scripts/gen_crd_schemas.py --sources {shown} CRD_FILE_OR_DIR...",
        "sources": [_described(source) for source in sources],
        "kinds": sorted(kinds, key=lambda entry: entry["file"]),
    }
    for stale in set(p.name for p in out.glob("*.json")) - set(files):
        (out / stale).unlink()
    for name, content in files.items():
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        (out / name).write_text(text + "\n", encoding="utf-8")
    return sorted(files)


def schema_file(versions: list[CrdVersion], source: Source) -> dict[str, Any]:
    """One kind: its versions, each pointing at its schema (versions often share one)."""
    schemas: list[dict[str, Any]] = []
    listed = []
    for version in versions:
        schema = structural(version.schema)
        if schema not in schemas:
            schemas.append(schema)
        listed.append(
            {
                "name": version.version,
                "served": version.served,
                "deprecated": version.deprecated,
                "schema": schemas.index(schema),
            }
        )
    first = versions[0]
    return {
        "group": first.group,
        "kind": first.kind,
        "channel": first.channel,
        "source": source.cited,
        "schemas": schemas,
        "versions": listed,
    }


def _described(source: Source) -> dict[str, Any]:
    described = {
        "repository": source.repository,
        "commit": source.commit,
        "path": source.path,
        "group": source.group,
        "kinds": source.kinds,
        "channel": source.channel,
        "release": source.release,
        "sha256": source.sha256,
    }
    return {key: value for key, value in described.items() if value is not None}


def _shown(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else path.name


if __name__ == "__main__":
    sys.exit(main())
