"""Regenerate src/crossfade/spec/llmapi_args_known.py from TensorRT-LLM's llm_args.py.

TensorRT-LLM cannot be installed here, so the file is read as source, never imported:
    python scripts/gen_llmapi_args.py PATH/TO/llm_args.py --version 1.3.0 --commit SHA

It collects the fields (and pydantic aliases) of the class `LLM()` validates for the PyTorch
backend (`TorchLlmArgs`, with the fields of every base class defined in the same file) and of
the nested configs crossfade checks key by key (NESTED below). A field is an annotated class
attribute that is neither private (`_name`, `PrivateAttr`) nor a `ClassVar`. The output is
sorted, so the same input gives the same bytes.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src/crossfade/spec/llmapi_args_known.py"
UPSTREAM = "NVIDIA/TensorRT-LLM"
UPSTREAM_PATH = "tensorrt_llm/llmapi/llm_args.py"
LLM_CLASS = "TorchLlmArgs"
# The dict of arguments removed from the LLM class but still accepted (and dropped) on input.
REMOVED_ARGS_DICT = "_TORCH_LLMARGS_REMOVED_ARG_CHECKS"
# LLM() argument -> the classes its value may be (a union takes the keys of all its members).
NESTED: dict[str, tuple[str, ...]] = {
    "kv_cache_config": ("KvCacheConfig",),
    "scheduler_config": ("SchedulerConfig",),
    "cuda_graph_config": ("DecodeCudaGraphConfig", "EncodeCudaGraphConfig"),
    "moe_config": ("MoeConfig",),
    "attention_dp_config": ("AttentionDpConfig",),
    "torch_compile_config": ("TorchCompileConfig",),
}


class SourceError(Exception):
    """The file does not have what the table needs (a class, a field)."""


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_class_var(annotation: ast.expr) -> bool:
    target = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return _name(target) == "ClassVar"


def _strings(node: ast.expr | None) -> list[str]:
    """String constants of an alias: "name", or AliasChoices("a", "b")."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Call):
        return [s for arg in node.args for s in _strings(arg)]
    return []


def _optional(annotation: ast.expr) -> bool:
    """Optional[X], Union[X, None] or X | None."""
    if isinstance(annotation, ast.Subscript):
        kind = _name(annotation.value)
        inner = annotation.slice
        members = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        none = any(isinstance(m, ast.Constant) and m.value is None for m in members)
        return kind == "Optional" or (kind == "Union" and none)
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = (annotation.left, annotation.right)
        return any(isinstance(side, ast.Constant) and side.value is None for side in sides)
    return False


def _own_fields(cls: ast.ClassDef) -> set[str]:
    fields: set[str] = set()
    for statement in cls.body:
        if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
            continue
        name = statement.target.id
        value = statement.value
        private = isinstance(value, ast.Call) and _name(value.func) == "PrivateAttr"
        if name.startswith("_") or private or _is_class_var(statement.annotation):
            continue
        fields.add(name)
        if isinstance(value, ast.Call):
            for keyword in value.keywords:
                if keyword.arg in ("alias", "validation_alias"):
                    fields.update(_strings(keyword.value))
    return fields


class LlmArgsSource:
    """The top-level classes (and class aliases) of one llm_args.py."""

    def __init__(self, text: str) -> None:
        tree = ast.parse(text)
        self.classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        self.aliases: dict[str, str] = {}
        self.external_bases: set[str] = set()
        self.tree = tree
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
                for target in node.targets:
                    if isinstance(target, ast.Name) and node.value.id in self.classes:
                        self.aliases[target.id] = node.value.id

    def fields(self, class_name: str) -> set[str]:
        """Fields of the class and of its bases defined in this file."""
        name = self.aliases.get(class_name, class_name)
        if name not in self.classes:
            raise SourceError(f"class {class_name} is not defined in the file")
        cls = self.classes[name]
        fields = set(_own_fields(cls))
        for base in cls.bases:
            base_name = _name(base)
            if base_name is None:
                continue
            if base_name in self.classes or base_name in self.aliases:
                fields |= self.fields(base_name)
            else:
                self.external_bases.add(base_name)
        return fields

    def optional_fields(self, class_name: str) -> set[str]:
        """Fields of the class (and its bases in this file) that accept None."""
        cls = self.classes[self.aliases.get(class_name, class_name)]
        found = {
            s.target.id
            for s in cls.body
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            if _optional(s.annotation)
        }
        for base in cls.bases:
            name = _name(base)
            if name is not None and (name in self.classes or name in self.aliases):
                found |= self.optional_fields(name)
        return found

    def dict_keys(self, variable: str) -> set[str]:
        """String keys of a top-level `variable = {...}` (empty when the file has none)."""
        for node in self.tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            if any(_name(t) == variable for t in targets) and isinstance(value, ast.Dict):
                return {s for key in value.keys if key is not None for s in _strings(key)}
        return set()


def _frozenset(names: set[str]) -> str:
    if not names:
        return "frozenset()"
    body = "".join(f'        "{name}",\n' for name in sorted(names))
    return f"frozenset(\n    {{\n{body}    }}\n)"


def _assignment(name: str, value: str) -> str:
    """`name = "value"`, wrapped in parentheses as ruff format does past 100 columns."""
    line = f'{name} = "{value}"\n'
    return line if len(line) <= 101 else f'{name} = (\n    "{value}"\n)\n'


def generate(text: str, version: str, commit: str) -> tuple[str, dict[str, int]]:
    """The module's text, and how many names each table holds."""
    source = LlmArgsSource(text)
    llm_args = source.fields(LLM_CLASS)
    nested: dict[str, set[str]] = {}
    for arg, classes in NESTED.items():
        if arg not in llm_args:
            raise SourceError(f"{LLM_CLASS} has no field {arg}; update NESTED in this script")
        nested[arg] = set().union(*(source.fields(cls) for cls in classes))
    removed = source.dict_keys(REMOVED_ARGS_DICT) - llm_args
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    bases = sorted(name for base in source.classes[LLM_CLASS].bases if (name := _name(base)))
    parts = [
        '"""Keyword arguments of `tensorrt_llm.LLM` (PyTorch backend) and the keys of the nested\n'
        "configs crossfade checks, read from one TensorRT-LLM source file. Generated by\n"
        'scripts/gen_llmapi_args.py; do not edit by hand."""\n\n',
        f'TRTLLM_VERSION = "{version}"\n',
        _assignment("SOURCE", f"{UPSTREAM}@{commit} {UPSTREAM_PATH}"),
        f'SOURCE_SHA256 = "{digest}"\n\n',
        f"# {LLM_CLASS} (bases: {', '.join(bases)}): field names and pydantic aliases.\n",
        f"LLM_ARGS = {_frozenset(llm_args)}\n\n",
        "# Removed from the LLM arguments but still accepted on input (dropped, or refused for\n",
        "# some values).\n",
        f"REMOVED_LLM_ARGS = {_frozenset(removed)}\n",
    ]
    constants = {}
    for arg, classes in NESTED.items():
        constant = f"{arg.upper()}_ARGS"
        constants[arg] = constant
        parts.append(f"\n# {arg}: {' | '.join(classes)}.\n{constant} = {_frozenset(nested[arg])}\n")
    parts.append("\nNESTED_ARGS: dict[str, frozenset[str]] = {\n")
    parts += [f'    "{arg}": {constant},\n' for arg, constant in constants.items()]
    parts.append("}\n")
    nullable = set(NESTED) & source.optional_fields(LLM_CLASS)
    parts.append("# Nested configs that also take None.\n")
    parts.append(f"NULLABLE_NESTED_ARGS = {_frozenset(nullable)}\n")
    counts = {"LLM_ARGS": len(llm_args), "REMOVED_LLM_ARGS": len(removed)}
    counts |= {constants[arg]: len(names) for arg, names in nested.items()}
    if source.external_bases:
        external = ", ".join(sorted(source.external_bases))
        print(f"bases not in the file (taken to add no fields): {external}", file=sys.stderr)
    return "".join(parts), counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("llm_args", type=Path, help=f"a copy of {UPSTREAM_PATH}")
    parser.add_argument("--version", required=True, help="TensorRT-LLM version of that file")
    parser.add_argument("--commit", required=True, help=f"{UPSTREAM} commit it was read at")
    parser.add_argument("--output", type=Path, default=TARGET, help=f"default: {TARGET}")
    args = parser.parse_args(argv)
    try:
        source_text = args.llm_args.read_text(encoding="utf-8")
        text, counts = generate(source_text, args.version, args.commit)
    except (OSError, SyntaxError, SourceError) as exc:
        print(f"gen_llmapi_args: {args.llm_args}: {exc}", file=sys.stderr)
        return 2
    args.output.write_text(text, encoding="utf-8")
    summary = ", ".join(f"{name} {count}" for name, count in counts.items())
    print(f"{summary} (TensorRT-LLM {args.version}) -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
