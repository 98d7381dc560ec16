"""The package's structure in figures (issue 24): files, lines, the layers (packages) and the imports
between rnnbench's own modules, the largest functions, and the regions the ``duplicates`` tool pairs.

    python -m benchmarks.structure --label before   # -> benchmarks/results/structure-<label>.json / .md

Read from the source (ast), nothing is imported or run."""
from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
from pathlib import Path

from benchmarks.common import RESULTS
from rnnbench.runtime import git_commit

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rnnbench"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package
                pkg = module.split(".")[: len(module.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join(pkg + ([base] if base else []))
            out.add(base)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m == "rnnbench" or m.startswith("rnnbench.")}


def _functions(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(ROOT)}:{node.name}"))
    return out


def _layer(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def measure() -> dict:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {_module(f): f for f in files}
    edges = {(m, i) for m, f in modules.items() for i in _imports(f, m) if i in modules or any(k.startswith(i + ".") for k in modules)}
    layers: dict[str, int] = {}
    for m in modules:
        layers[_layer(m)] = layers.get(_layer(m), 0) + 1
    layer_edges = sorted({(_layer(a), _layer(b)) for a, b in edges if _layer(a) != _layer(b)})
    functions = sorted((fn for f in files for fn in _functions(f)), reverse=True)
    out = {
        "files": len(files),
        "lines": sum(len(f.read_text().splitlines()) for f in files),
        "layers": layers,
        "imports": len(edges),
        "layer_imports": [f"{a} -> {b}" for a, b in layer_edges],
        "largest_functions": [{"lines": n, "function": name} for n, name in functions[:5]],
        "commit": git_commit(),
    }
    for sub in ("models", "regularisers", "tasks", "population"):
        out[f"imports_into_{sub}"] = sorted({f"{a} -> {b}" for a, b in edges if b.startswith(f"rnnbench.{sub}")
                                            and not a.startswith(f"rnnbench.{sub}")})
    tool = shutil.which("duplicates")
    if tool:
        for n in (6, 4):  # the tool's pairs of 6+ shared lines, and of 4+ (the padding hold is 3-4 lines)
            text = subprocess.run([tool, "--repo", str(PACKAGE), "--min-lines", str(n), "--most", "200", "--seconds", "120"],
                                  capture_output=True, text=True, cwd=ROOT).stdout
            first = re.match(r"(\d+) pairs", text)
            out[f"duplicate_pairs_{n}_lines"] = int(first.group(1)) if first else 0
            out[f"duplicates_{n}_lines"] = text.splitlines()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--label", required=True)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    m = measure()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"structure-{args.label}.json").write_text(json.dumps(m, indent=1) + "\n")
    lines = [f"# rnnbench's structure ({args.label}, commit {m['commit']})", "",
             "| files | lines | imports between modules | largest function | duplicate pairs (6+ / 4+ lines) |",
             "| --- | --- | --- | --- | --- |",
             f"| {m['files']} | {m['lines']} | {m['imports']} | {m['largest_functions'][0]['lines']} lines "
             f"({m['largest_functions'][0]['function']}) | {m.get('duplicate_pairs_6_lines')} / {m.get('duplicate_pairs_4_lines')} |", "", "Layers (files): " +
             ", ".join(f"{k} {v}" for k, v in sorted(m["layers"].items())), ""]
    (args.out / f"structure-{args.label}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
