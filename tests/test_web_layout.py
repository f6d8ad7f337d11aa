"""A view does not run its own SQL: every module under litreview/web/ calls domain
functions (litreview.library, .screening, .evidence, ...) that build and run the queries.

Read with ``ast``, so a query built anywhere in a view module fails here: SQLAlchemy's
statement builders (``select``, ``update``, ``delete``, ``insert``, ``func``), and
``.execute(``, ``.scalar(`` or ``.scalars(`` called on anything (a session, ``db()``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import litreview.web

WEB = Path(litreview.web.__file__).parent
BUILDERS = {"select", "update", "delete", "insert", "func"}
RUNNERS = {"execute", "scalar", "scalars"}
ALLOWED: set[str] = set()


def sql_in(source: str) -> list[str]:
    """Where ``source`` builds or runs SQL itself, as "line N: what" strings."""
    tree = ast.parse(source)
    modules: set[str] = set()  # local names of the sqlalchemy module
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sqlalchemy":
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy":
            for alias in node.names:
                if alias.name in BUILDERS:
                    found.append(f"line {node.lineno}: from sqlalchemy import {alias.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr in BUILDERS
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in RUNNERS
        ):
            found.append(f"line {node.lineno}: .{node.func.attr}(")
    return sorted(found, key=lambda text: (int(text.split()[1].rstrip(":")), text))


def test_the_checker_finds_sql_however_it_is_spelled():
    source = (
        "import sqlalchemy as sa\n"
        "from sqlalchemy import func\n"
        "def view(session):\n"
        "    session.execute(sa.select(X))\n"
        "    db().scalar(sa.func.count())\n"
        "    return session.scalars(q)\n"
    )
    assert sql_in(source) == [
        "line 2: from sqlalchemy import func",
        "line 4: .execute(",
        "line 4: sa.select",
        "line 5: .scalar(",
        "line 5: sa.func",
        "line 6: .scalars(",
    ]
    # Catching SQLAlchemy's errors is not running SQL.
    assert sql_in("import sqlalchemy as sa\nexcept_ = sa.exc.OperationalError\n") == []


def test_no_view_module_runs_its_own_sql():
    modules = sorted(WEB.rglob("*.py"))
    assert len(modules) > 10, WEB  # the views really are there
    offenders = {}
    for path in modules:
        name = path.relative_to(WEB).as_posix()
        if name in ALLOWED:
            continue
        found = sql_in(path.read_text(encoding="utf-8"))
        if found:
            offenders[name] = found
    assert offenders == {}, (
        "views call domain functions; move these queries into the feature package "
        f"that owns the rule: {offenders}"
    )
