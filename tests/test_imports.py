"""The package's internal imports form no cycle, counting imports inside functions as well.

A cycle that a function-level import hides still couples the modules; it only moves the failure from import
time to the first call. The graph is read from the source with ``ast``, so nothing is imported to build it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "rntk_bench"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / PACKAGE

CHECKED_SCOPE = PACKAGE
"""Modules (this one and those under it) that must not lie on an import cycle: the whole package, so that every
module imports only modules on floors below it."""


def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, read from ``__init__.py``)."""
    modules = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that module ``name`` imports anywhere in its body (any depth, any branch).

    ``from a import b`` counts as an import of ``a.b`` when that is a module, else of ``a``; a relative import
    is resolved against the module's package. Only the named module is an edge, not its parent packages,
    which Python imports first but which are already initialising when a submodule imports its sibling.
    """
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            for alias in node.names:
                candidate = f"{origin}.{alias.name}"
                found.add(candidate if candidate in modules else origin)
    return {target for target in found if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def in_scope(module: str) -> bool:
    return module == CHECKED_SCOPE or module.startswith(CHECKED_SCOPE + ".")


def test_no_import_cycle_reaches_the_checked_modules():
    graph = import_graph()
    assert any(in_scope(name) for name in graph), f"no module found under {CHECKED_SCOPE}"
    offending = [component for component in cycles(graph) if any(map(in_scope, component))]
    assert not offending, f"import cycles through {CHECKED_SCOPE}: {offending}"


def test_the_graph_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    """The checker itself: a cycle hidden in a function, and one through a relative import, are both found."""
    package = tmp_path / "demo"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from demo import b\n")
    (package / "b.py").write_text("def f():\n    from demo.a import thing\n")
    (package / "c.py").write_text("from . import d\n")
    (package / "d.py").write_text("if True:\n    from .c import x\n")
    (package / "e.py").write_text("import demo.a\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE_DIR", package)
    graph = import_graph()
    assert graph["demo.e"] == {"demo.a"}
    assert sorted(cycles(graph)) == [["demo.a", "demo.b"], ["demo.c", "demo.d"]]
