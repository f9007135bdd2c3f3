"""The code's shape, checked: no import cycle among the modules of arena/ and ratings/,
at run time or under TYPE_CHECKING (a cycle works only by import order, and every next
change to either side has to know it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)


def modules() -> dict[str, Path]:
    found = {}
    for package in ("arena", "ratings"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:  # Alembic's scripts, run by Alembic alone
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that ``name`` imports anywhere in its file (inside
    functions and TYPE_CHECKING blocks too); ``from p import m`` counts m if a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            parts = target.split(".")
            for end in range(len(parts), 0, -1):  # the longest prefix that is a module
                candidate = ".".join(parts[:end])
                if candidate in known:
                    # Importing a.b.c runs a/b/__init__.py too: its packages count, but
                    # for name's own, which are imported before name itself.
                    out |= {
                        m
                        for m in _packages_of(candidate, known)
                        if m != name and not name.startswith(m + ".")
                    }
                    break
    return out


def _packages_of(module: str, known: dict[str, Path]) -> list[str]:
    """``module`` and each package above it that is one of ``known``."""
    parts = module.split(".")
    return [p for p in (".".join(parts[:end]) for end in range(1, len(parts) + 1)) if p in known]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_of_arena_or_ratings_imports_one_that_imports_it() -> None:
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    assert len(graph) > 100 and graph["arena.battles"]  # it read the code
    assert cycles(graph) == []


def test_a_cycle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# Longer on purpose: the command line's parser (one declaration per option) and the
# Gradio layouts of the tabs. battle_panel still holds the panel's Gradio API handlers
# (issue 23, "one web layer", moves them out).
LONG_ALLOWED = {
    "arena.cli._parser",
    "arena.ui.battle.battle_panel",
    "arena.ui.chat.chat_tab",
    "arena.ui.leaderboard.leaderboard_tab",
}
MAX_FUNCTION_LINES = 80


def long_functions() -> dict[str, int]:
    found = {}
    for name, path in modules().items():
        if not name.startswith("arena"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found[f"{name}.{node.name}"] = lines
    return found


def test_no_function_in_arena_runs_over_80_lines() -> None:
    found = long_functions()
    assert set(found) - LONG_ALLOWED == set(), found
    assert LONG_ALLOWED <= set(found), "an allowed one got shorter: take it off the list"


def test_refusals_are_the_arenas_errors_answered_by_one_handler() -> None:
    """No endpoint builds an HTTPException of its own: it raises an ArenaError, whose
    class carries the status (arena/errors.py), and arena/web/voters.py answers it."""
    raising = [
        name
        for name, path in modules().items()
        if name.startswith("arena") and "HTTPException" in path.read_text(encoding="utf-8")
    ]
    assert raising == []
