"""Small SQL helpers the screening queries share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class _Bare(ColumnElement):
    """A boolean column as a bare condition: ``decision.current``, not ``current = 1``.

    SQLite uses a partial index only when the query repeats the index's WHERE term
    exactly; uq_decision_current is ``WHERE current``, and it covers (record_id, stage,
    user_id), so "has this user decided this record" is answered from the index alone.
    Typed Integer so the SQLite compiler does not append ``= 1``.
    """

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]
    type = sa.Integer()

    def __init__(self, column: sa.ColumnElement) -> None:
        self.column = column


@compiles(_Bare)
def _compile_bare(element: _Bare, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


def current(model: Any) -> sa.ColumnElement:
    """The condition "this row is current" on a Decision or Resolution (or an alias)."""
    return _Bare(model.current)
