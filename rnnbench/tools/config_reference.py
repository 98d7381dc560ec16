"""The config reference, generated from the structured-config schemas (rnnbench/config/): every key of every
group with its type, default, allowed range or choices, and its meaning (the comment the schema gives the
field, with its paper section where it cites one), written to docs/config.md (issue 33).

    python -m rnnbench.tools.config_reference            # writes docs/config.md
    python -m rnnbench.tools.config_reference --check    # exit 1 if docs/config.md is not what the schemas say
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import io
import sys
import tokenize
import typing
from enum import Enum
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING

PAGE = Path(__file__).resolve().parents[2] / "docs" / "config.md"
HEAD = """# Config reference

Generated from the schemas in `rnnbench/config/` by `python -m rnnbench.tools.config_reference` (a test fails when
this page is stale). Every key is set on the command line as `rnnbench key=value`; a group (`dataset=jsb`,
`optim=adam`, `regulariser=fd`, ...) chooses a YAML file under `conf/` that sets many keys at once, and its
schema below says which keys it may hold. Defaults are the schema's; a group's file or a preset may set
others (`rnnbench ... --cfg job` prints what a run will use).
"""


def _comments(cls: type) -> dict[str, str]:
    """{field: the comment on its line, or the comment lines right above it} from the class's source."""
    try:
        lines, _ = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return {}
    source = "".join(lines)
    tree = ast.parse(inspect.cleandoc("\n" + source) if source[:1].isspace() else source)
    comments = {}  # line number -> comment text
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    out = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for node in body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            line = node.lineno
            text = comments.get(line)
            if text is None:  # a block of comment lines right above the field
                above, k = [], line - 1
                while k in comments and lines[k - 1].lstrip().startswith("#"):
                    above.insert(0, comments[k])
                    k -= 1
                text = " ".join(above) or None
            if text:
                out[node.target.id] = text
    return out


def _type(t: Any) -> str:
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Union and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return " or ".join(_type(a) for a in rest) + " or null"
    if origin in (list, typing.List):
        return f"list of {_type(args[0])}" if args else "list"
    if isinstance(t, type) and issubclass(t, Enum):
        return "one of " + ", ".join(f"`{m.value}`" for m in t)
    return getattr(t, "__name__", str(t)).replace("typing.", "")


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
    else:
        return "required"
    if value is MISSING or value == "???":
        return "required (set by the group's file)"
    if isinstance(value, Enum):
        value = value.value
    return "null" if value is None else f"`{value}`"


def _range(f: dataclasses.Field, integer: bool) -> str:
    rng = f.metadata.get("range") if f.metadata else None
    return rng.describe(integer) if rng is not None else ""


def rows(cls: type, prefix: str) -> list[tuple[str, str, str, str, str]]:
    """(key, type, default, range, meaning) of every leaf below ``cls``, nested dataclasses flattened."""
    hints = typing.get_type_hints(cls)
    notes = _comments(cls)
    out = []
    for f in dataclasses.fields(cls):
        t = hints.get(f.name, f.type)
        inner = [a for a in typing.get_args(t) if a is not type(None)] or [t]
        if dataclasses.is_dataclass(inner[0]) and isinstance(inner[0], type):
            out += rows(inner[0], f"{prefix}{f.name}.")
            continue
        integer = inner[0] is int
        out.append((f"{prefix}{f.name}", _type(t), _default(f), _range(f, integer), notes.get(f.name, "")))
    return out


def _table(items: list[tuple[str, str, str, str, str]]) -> list[str]:
    lines = ["| key | type | default | allowed | meaning |", "| --- | --- | --- | --- | --- |"]
    for key, typ, default, allowed, meaning in items:
        cell = [f"`{key}`", typ, default, allowed, meaning.replace("|", "\\|")]
        lines.append("| " + " | ".join(cell) + " |")
    return lines


def page() -> str:
    from rnnbench.config import Config, dataset, optim

    groups = {"dataset": dataset.SCHEMAS, "optim": optim.SCHEMAS}
    lines = [HEAD]
    hints = typing.get_type_hints(Config)
    top = [f for f in dataclasses.fields(Config) if not dataclasses.is_dataclass(hints.get(f.name))]
    nested = [f for f in dataclasses.fields(Config) if dataclasses.is_dataclass(hints.get(f.name))]
    for f in nested + [f for f in top if f.name in groups]:
        lines.append(f"## {f.name}\n")
        if f.name in groups:  # a group whose files have different schemas: one table per schema
            for name, schema in groups[f.name]:
                doc = (inspect.getdoc(schema) or "").split("\n")[0]
                lines += [f"### {f.name} schema `{name}`\n", doc + "\n" if doc else "", *_table(rows(schema, f"{f.name}.")), ""]
        else:
            schema = hints[f.name]
            doc = (inspect.getdoc(schema) or "").split("\n")[0]
            lines += [doc + "\n" if doc else "", *_table(rows(schema, f"{f.name}.")), ""]
    rest = [r for r in rows(Config, "") if "." not in r[0] and r[0] not in groups]
    lines += ["## top-level keys\n", *_table(rest), ""]
    return "\n".join(line for line in lines) .rstrip() + "\n"


def keys() -> list[str]:
    """Every key the page lists."""
    return [line.split("`")[1] for line in page().splitlines() if line.startswith("| `")]


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 if docs/config.md differs from the schemas")
    p.add_argument("--out", type=Path, default=PAGE)
    args = p.parse_args(argv)
    text = page()
    if args.check:
        if not args.out.is_file() or args.out.read_text() != text:
            print(f"{args.out} is stale: run python -m rnnbench.tools.config_reference", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text)
    print(f"{args.out}: {len(keys())} keys")
    return 0


if __name__ == "__main__":
    sys.exit(main())
