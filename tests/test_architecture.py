"""The package's imports point one way: no module imports, directly or through others, a
module that imports it back (lazy imports inside functions included, TYPE_CHECKING excluded)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reportgen"


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module name → the reportgen modules it imports anywhere in its body."""
    modules = {_name(path, package): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skipped = {id(node) for block in ast.walk(tree) if _is_type_checking(block)
                   for node in ast.walk(block)}
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reportgen"):
                targets |= {t for t in (f"{node.module}.{a.name}" for a in node.names) if t in modules}
                targets.add(node.module)
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("reportgen")}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _name(path: Path, package: Path) -> str:
    parts = ("reportgen", *path.relative_to(package).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by depth-first search, each listed once."""
    found, seen = [], set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycle = path[path.index(nxt):]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append([*cycle, nxt])
            elif len(path) < 12:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return found


def _without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's __init__ re-exports its modules; a module importing a sibling through the
    # package is fine as long as the modules themselves form no cycle.
    packages = {n for n in graph if (PACKAGE.parent / n.replace(".", "/") / "__init__.py").exists()}
    return {n: targets - packages for n, targets in graph.items() if n not in packages}


def test_the_modules_import_each_other_without_cycles() -> None:
    assert cycles(_without_packages(import_graph())) == []


def test_the_graph_sees_a_planted_cycle(tmp_path: Path) -> None:
    package = tmp_path / "reportgen"
    package.mkdir()
    (package / "a.py").write_text("from reportgen.b import x\n")
    (package / "b.py").write_text("def f():\n    from reportgen import a\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "    from reportgen.a import y\n")
    graph = import_graph(package)
    assert graph["reportgen.c"] == set()
    assert cycles(graph) == [["reportgen.a", "reportgen.b", "reportgen.a"]]


def test_the_report_and_the_gate_never_import_the_runner() -> None:
    graph = import_graph()
    readers = [n for n in graph if n.startswith(("reportgen.report", "reportgen.gating"))]
    assert [n for n in readers if "reportgen.pipeline" in graph[n]] == []
