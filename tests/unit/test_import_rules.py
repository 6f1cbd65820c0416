"""The layering docs/ARCHITECTURE.md promises, checked against every import in kiebot/ (function-level ones too).

The rules are read from the doc's "Import rules" table, so the doc and the code cannot drift apart.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kiebot"
DOC = ROOT / "docs" / "ARCHITECTURE.md"
ROW = re.compile(r"^\|\s*`([\w.*]+)`\s*\|\s*(.+?)\s*\|\s*$")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def rules() -> list[tuple[str, list[str]]]:
    """(module pattern, forbidden prefixes) from the doc; `pkg.*` means the modules inside pkg, not pkg itself."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Import rules"):]
    found = []
    for line in table.splitlines()[1:]:
        if line.startswith("## "):
            break
        match = ROW.match(line)
        if match:
            found.append((match[1], re.findall(r"`([\w.]+)`", match[2])))
    assert found, "the Import rules table in docs/ARCHITECTURE.md is empty"
    return found


def applies(pattern: str, module: str) -> bool:
    if pattern.endswith(".*"):
        return module.startswith(pattern[:-1])
    return module == pattern or module.startswith(pattern + ".")


def is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("pattern", "forbidden"), rules(), ids=lambda v: v if isinstance(v, str) else "")
def test_layering(pattern: str, forbidden: list[str]) -> None:
    broken = []
    for module, path in modules().items():
        if not applies(pattern, module):
            continue
        for name in imports_of(path):
            for prefix in forbidden:
                if is_under(name, prefix) and not is_under(name, module):
                    broken.append(f"{module} imports {name} ({pattern} may not import {prefix})")
    assert not broken, "\n".join(sorted(set(broken)))


def test_no_import_cycles_between_modules() -> None:
    known = modules()
    graph = {m: {n for n in imports_of(p) if n in known and n != m} for m, p in known.items()}
    # A package's __init__ re-exporting its modules is not a cycle of meaning: only module → module edges count.
    graph = {m: {n for n in deps if known[n].name != "__init__.py"} for m, deps in graph.items()}
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" → ".join(trail[trail.index(nxt):] + [node, nxt]) if nxt in trail else f"{node} ↔ {nxt}")
            elif nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert not cycles, "\n".join(cycles)


def test_the_doc_names_every_package() -> None:
    patterns = {p.removesuffix(".*") for p, _ in rules()}
    packages = {m for m, p in modules().items() if p.name == "__init__.py" and m.count(".") == 1}
    assert packages <= patterns, f"packages without a rule in docs/ARCHITECTURE.md: {sorted(packages - patterns)}"
