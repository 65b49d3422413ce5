"""No import circle in the house, benchmarks included, and the layers stay light (issue 26).

The circle check follows /work/shared/tools/import_cycles.py (every import counts: top level, inside functions,
under TYPE_CHECKING; ``from a.b import c`` is a.b.c's file if there is one, else a/b's), so that CI on a fresh
clone runs it without that tool.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# No circle is tolerated (issue 26: there were four).
KNOWN: frozenset[str] = frozenset()


def _module_file(root: Path, dotted: str) -> Path | None:
    base = root.joinpath(*dotted.split("."))
    return next((c for c in (base.with_suffix(".py"), base / "__init__.py") if c.is_file()), None)


def _imports(root: Path, path: Path):
    here = list(path.relative_to(root).parent.parts)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found = _module_file(root, alias.name) or _module_file(path.parent, alias.name)
                if found:
                    yield found
        elif isinstance(node, ast.ImportFrom):
            module = ".".join((here[: len(here) - node.level + 1] if node.level else []) +
                              ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                found = _module_file(root, full) or (_module_file(root, module) if module else None)
                if not found and not node.level:  # a script importing its neighbour (benchmarks/)
                    found = _module_file(path.parent, full) or (_module_file(path.parent, module) if module else None)
                if found:
                    yield found


def import_circles(root: Path, folders=("indexer", "benchmarks")) -> list[set[str]]:
    """The sets of files (relative to ``root``) that import each other, directly or through others."""
    files = [p for folder in folders for p in sorted((root / folder).rglob("*.py"))]
    graph = {f: {g for g in _imports(root, f) if g != f and g in set(files)} for f in files}
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    circles = []

    def visit(v: Path) -> None:  # Tarjan's strongly connected components
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
                circles.append({p.relative_to(root).as_posix() for p in component})

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return circles


def test_no_import_circle_in_the_package_or_the_benchmarks():
    new = [sorted(c) for c in import_circles(REPO) if not c <= KNOWN]
    assert not new, f"import circles: {new}"


def test_the_circle_check_finds_a_circle(tmp_path):
    """The check itself can fail: two modules importing each other inside functions are a circle."""
    package = tmp_path / "indexer"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from .b import g\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n")
    assert import_circles(tmp_path, ("indexer",)) == [{"indexer/a.py", "indexer/b.py"}]


def _loaded_by(statement: str, modules: list[str]) -> list[str]:
    code = f"import sys, json; {statement}; print(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("statement, heavy", [
    # Statistics read the effective transcripts: not the index, the quotes, the player or the pages.
    ("import indexer.stats", ["whoosh", "indexer.index", "indexer.quotes", "indexer.display.page",
                              "indexer.display.player", "indexer.transcribe", "indexer.search"]),
    # Reading a sidecar checks a preset's name without the transcription stack.
    ("import indexer.archive", ["indexer.transcribe", "indexer.speakers", "faster_whisper"]),
    # The survey and the status take the run's frozen configuration, not the run.
    ("import indexer.ingest.survey, indexer.ingest.status", ["indexer.ingest.run"]),
])
def test_a_layer_does_not_load_the_layers_above_it(statement, heavy):
    assert _loaded_by(statement, heavy) == []
