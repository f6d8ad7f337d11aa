"""The package's shape, checked by reading its source (nothing is imported).

* no import cycles between modules;
* nothing outside ``litreview/web`` imports Flask;
* no module over 400 lines unless its docstring says why, on a line starting
  ``Long because:``;
* no two modules share a file name (``__init__.py`` aside).

The import graph counts imports made when a module is loaded: those at module level,
in ``try``/``if`` blocks at module level, but not those under ``if TYPE_CHECKING:``
(never run) and not those inside functions (run later, on purpose, to load a heavy
library or to break a dependency at load time). ``from package import name`` counts
as an import of ``package.name`` when that is a module, else of ``package``. A
submodule's import of its own package's ``__init__`` is not followed upward: Python
loads ``a/__init__.py`` before ``a/b.py`` whatever ``a/b.py`` imports.

The Flask check counts every import, wherever it is, TYPE_CHECKING included.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "litreview"
MAX_LINES = 400

# Known findings, each checked to still be one (a stale entry fails the test too).
KNOWN_LONG: set[str] = set()
KNOWN_CYCLES: set[frozenset[str]] = set()
KNOWN_SHARED_NAMES: set[str] = set()

# Allowed for good: the app factory is Flask's by nature and sits at the package root
# by Flask's convention (`from litreview import create_app`, `flask --app litreview`);
# it imports Flask inside create_app, so nothing else that imports litreview loads it.
FLASK_ALLOWED = {"litreview"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, level: int, importer: str) -> str:
    if not level:
        return module
    base = importer.split(".")
    if not _is_package(importer):
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _load_time_imports(body: list[ast.stmt]):
    """Import statements run when the module loads (not in functions or TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _load_time_imports(node.body)
            yield from _load_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _load_time_imports(block)
            for handler in node.handlers:
                yield from _load_time_imports(handler.body)
        elif isinstance(node, ast.With):
            yield from _load_time_imports(node.body)


def _targets(node: ast.Import | ast.ImportFrom, importer: str) -> set[str]:
    """The modules of this package (or, for others, the top-level name) an import loads."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = _resolve(node.module or "", node.level, importer)
    found = set()
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        found.add(candidate if candidate in MODULES else base)
    return found


def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"), str(MODULES[name]))


def import_graph() -> dict[str, set[str]]:
    """Each module's load-time imports of other modules of the package."""
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        edges = set()
        for node in _load_time_imports(_tree(name).body):
            for target in _targets(node, name):
                # `import litreview.a.b` loads litreview.a.b; the nearest known module.
                while target and target not in MODULES:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    edges.add(target)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as
    one cycle through them, so a failure names the modules to untangle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_cycle(graph, set(c)) for c in components]


def _one_cycle(graph: dict[str, set[str]], members: set[str]) -> list[str]:
    start = min(members)
    # Breadth-first back to the start, inside the component.
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return sorted(members)


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    found = {frozenset(c) for c in cycles}
    unexpected = [" -> ".join(c) for c in cycles if frozenset(c) not in KNOWN_CYCLES]
    assert not unexpected, "import cycles:\n" + "\n".join(unexpected)
    assert KNOWN_CYCLES <= found, f"fixed, drop from KNOWN_CYCLES: {KNOWN_CYCLES - found}"


def test_cycle_finder_reports_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]


def test_nothing_outside_web_imports_flask():
    offenders = set()
    for name in MODULES:
        if name == "litreview.web" or name.startswith("litreview.web."):
            continue
        for node in ast.walk(_tree(name)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                if any(n == "flask" or n.startswith(("flask.", "flask_")) for n in names):
                    offenders.add(name)
    assert offenders == FLASK_ALLOWED, f"Flask imported outside web/: {offenders}"


def _long_without_reason() -> set[str]:
    found = set()
    for name, path in MODULES.items():
        if name.startswith("litreview.migrations.versions."):
            continue  # a migration is history: written once, never split afterwards
        if len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES:
            continue
        doc = ast.get_docstring(_tree(name)) or ""
        if not any(line.strip().startswith("Long because:") for line in doc.splitlines()):
            found.add(name)
    return found


def test_long_modules_say_why():
    found = _long_without_reason()
    unexpected = found - KNOWN_LONG
    assert not unexpected, (
        f"over {MAX_LINES} lines without a 'Long because:' line in the docstring: "
        f"{sorted(unexpected)}"
    )
    assert KNOWN_LONG <= found, f"fixed, drop from KNOWN_LONG: {sorted(KNOWN_LONG - found)}"


def test_no_two_modules_share_a_file_name():
    by_name: dict[str, list[str]] = defaultdict(list)
    for name, path in MODULES.items():
        if path.name != "__init__.py":
            by_name[path.name].append(name)
    shared = {f for f, names in by_name.items() if len(names) > 1}
    unexpected = {f: by_name[f] for f in shared - KNOWN_SHARED_NAMES}
    assert not unexpected, f"modules sharing a file name: {unexpected}"
    assert KNOWN_SHARED_NAMES <= shared, f"fixed: {KNOWN_SHARED_NAMES - shared}"
