"""The SQL behind "what is a record's decision at a stage", shared by screening and stats.

A record's effective decision at a stage is, in this order:

1. the current resolution, if a lead or third reviewer resolved it;
2. otherwise, once enough reviewers have decided (one in single mode, two in dual
   mode), their decision if they all agree, or "conflict" if they do not;
3. otherwise nothing yet (None).

Everything here is set-based: one pass over a review's current decisions grouped by
record and stage (``per_stage``), or correlated EXISTS probes that stop at the first match
(``next_record``), so that no caller needs a query per record.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from litreview.models import Decision, Record, Resolution, Review
from litreview.models.screening import DECISIONS

TITLE_ABSTRACT, FULL_TEXT = "title_abstract", "full_text"
# The title/abstract outcomes that send a record on to full-text screening.
PASSES = ("include", "maybe")
CONFLICT = "conflict"
REASONS_DIFFER = "(reasons differ)"
# Decisions as small integers: user_id * 4 + code packs "who decided what" in one value.
CODE = {decision: n for n, decision in enumerate(DECISIONS)}
# Aliases made once: building a fresh alias costs SQLAlchemy more than SQLite spends
# answering a "next record" query, and their names keep the SQL readable.
MINE = aliased(Decision, name="mine")
ANYONE = aliased(Decision, name="anyone")
SETTLED = aliased(Resolution, name="settled")
PASSED_BY = aliased(Decision, name="passed_by")
PASSED_AS = aliased(Resolution, name="passed_as")
STILL_DECIDED = aliased(Decision, name="still_decided")
WITHDRAWN = aliased(Record, name="withdrawn")


def needed(review: Review) -> int:
    """How many reviewers must decide a record: one, or two in blind dual mode."""
    return 2 if review.screening_mode == "dual" else 1


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


def dead_records(review_id: int) -> sa.Select:
    """Ids of the review's records that are not screened: merged away or withdrawn (few)."""
    return sa.select(Record.id).where(
        Record.review_id == review_id,
        sa.or_(Record.merged_into_id.is_not(None), Record.withdrawn_at.is_not(None)),
    )


def not_withdrawn() -> sa.ColumnElement[bool]:
    """Correlated "not withdrawn" on ``Record``, to put LAST among a query's conditions.

    As a subquery, SQLite evaluates it after the cheap index-only probes, so only the
    record that passed them is read from the table (withdrawn_at has no index).
    """
    return ~sa.exists().where(WITHDRAWN.id == Record.id, WITHDRAWN.withdrawn_at.is_not(None))


# Each decision adds 1, 1000 or 1000000 to a per-record sum, so that one SUM counts
# includes, excludes and maybes at once (up to 999 reviewers per record): one aggregate
# where count/min/max would take three, and aggregates are what a 50,000-record
# GROUP BY spends its time on.
WEIGHT = {"include": 1, "exclude": 1000, "maybe": 1000000}


def unpack(packed: int | None) -> tuple[int, int, int]:
    """(includes, excludes, maybes) from a packed per-record sum."""
    packed = packed or 0
    return packed % 1000, packed // 1000 % 1000, packed // 1000000


def _not_dead(column: Any, dead: list[int] | sa.Select | None) -> list[Any]:
    if dead is None or (isinstance(dead, list) and not dead):
        return []
    return [column.not_in(dead)]


def per_stage(
    review: Review,
    stage: str,
    *,
    record_id: int | None = None,
    dead: list[int] | sa.Select | None = None,
    detail: bool = False,
) -> sa.Subquery:
    """One row per record with a current decision at ``stage``.

    Columns: ``record_id``, ``k`` (the decisions packed by WEIGHT); with ``detail`` also
    ``rlo`` / ``rhi`` (lowest and highest reason, equal when all agree) and ``a`` / ``b``
    (lowest and highest ``user_id * 4 + code``: with two reviewers, who decided what).
    Records merged away or withdrawn are in it unless ``dead`` lists them (ids, or a
    select such as ``dead_records``): callers leave them out that way, or by joining
    the few rows they keep to ``Record``.
    """
    d = Decision
    columns = [
        d.record_id.label("record_id"),
        sa.func.sum(sa.case(WEIGHT, value=d.decision, else_=WEIGHT["maybe"])).label("k"),
    ]
    if detail:
        who = d.user_id * 4 + sa.case(CODE, value=d.decision, else_=CODE["maybe"])
        columns += [
            sa.func.min(d.reason).label("rlo"),
            sa.func.max(d.reason).label("rhi"),
            sa.func.min(who).label("a"),
            sa.func.max(who).label("b"),
        ]
    where = [d.review_id == review.id, d.stage == stage, current(d)]
    if record_id is not None:
        where.append(d.record_id == record_id)
    else:
        where += _not_dead(d.record_id, dead)
    return sa.select(*columns).where(*where).group_by(d.record_id).subquery(f"per_{stage}")


def settled(
    review: Review,
    stage: str,
    *,
    record_id: int | None = None,
    dead: list[int] | sa.Select | None = None,
) -> sa.Subquery:
    """Per record: its current resolution at ``stage`` (``record_id``, ``decision``,
    ``reason``, and ``orphan``: true when no reviewer's decision is current any more)."""
    r = Resolution
    where = [r.review_id == review.id, r.stage == stage, current(r)]
    if record_id is not None:
        where.append(r.record_id == record_id)
    else:
        where += _not_dead(r.record_id, dead)
    newest = sa.select(sa.func.max(r.id)).where(*where).group_by(r.record_id)
    d = STILL_DECIDED
    orphan = ~sa.exists().where(d.record_id == r.record_id, d.stage == stage, current(d))
    return (
        sa.select(r.record_id, r.decision, r.reason, orphan.label("orphan"))
        .where(r.id.in_(newest))
        .subquery(f"settled_{stage}")
    )


def outcome(k: Any, resolution: Any, need: int) -> sa.ColumnElement[str | None]:
    """SQL for the effective decision from a packed sum ``k`` and the resolution's decision."""
    k = sa.func.coalesce(k, 0)
    includes, excludes, maybes = k % 1000, k // 1000 % 1000, k // 1000000
    n = includes + excludes + maybes
    return sa.case(
        (resolution.is_not(None), resolution),
        (n < need, sa.null()),
        (includes == n, sa.literal("include")),
        (excludes == n, sa.literal("exclude")),
        (maybes == n, sa.literal("maybe")),
        else_=sa.literal(CONFLICT),
    )


def outcomes(review: Review, stage: str, record_id: int | None = None) -> sa.Subquery:
    """Subquery ``(record_id, effective)`` at ``stage``, for records with a decision or a
    resolution there (full text: only records that passed title/abstract), merged and
    withdrawn records included: join to ``Record`` to leave them out."""
    per = per_stage(review, stage, record_id=record_id)
    res = settled(review, stage, record_id=record_id)
    decided = sa.select(
        per.c.record_id, outcome(per.c.k, res.c.decision, needed(review)).label("effective")
    ).outerjoin(res, res.c.record_id == per.c.record_id)
    # Resolved, and since then every reviewer took their decision back: still resolved.
    orphans = sa.select(res.c.record_id, res.c.decision.label("effective")).where(res.c.orphan)
    if stage == FULL_TEXT:
        decided = decided.where(passed_title_abstract(review, per.c.record_id, candidates=False))
        orphans = orphans.where(passed_title_abstract(review, res.c.record_id, candidates=False))
    return sa.union_all(decided, orphans).subquery(f"outcomes_{stage}")


def settle(
    k: int | None, rlo: str | None, rhi: str | None, need: int
) -> tuple[str | None, str | None]:
    """(effective decision, exclusion reason) from the reviewers' decisions, in Python.

    The same rule as ``outcome`` without a resolution; the reason is the reviewers'
    when they agree on it (one who gave none does not count against it), else
    REASONS_DIFFER.
    """
    counts = unpack(k)
    n = sum(counts)
    if n < need or n == 0:
        return None, None
    if max(counts) != n:
        return CONFLICT, None
    return DECISIONS[counts.index(n)], (rlo if rlo == rhi else REASONS_DIFFER)


def passed_title_abstract(
    review: Review, record_id: Any = None, *, candidates: bool = True
) -> sa.ColumnElement[bool]:
    """Correlated condition: the record (``Record.id`` by default) goes on to full text.

    Per-row probes over indexed columns (its title/abstract resolution, else its
    reviewers' agreed include or maybe), for queries that stop at the first match or
    look at few rows. ``candidates`` adds a cheap pre-filter for scans over all records.
    """
    record_id = Record.id if record_id is None else record_id
    d, r = PASSED_BY, PASSED_AS
    resolution = (
        sa.select(r.decision)
        .where(r.record_id == record_id, r.stage == TITLE_ABSTRACT, current(r))
        .order_by(r.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    agreed = (
        sa.select(
            sa.case(
                (
                    sa.and_(
                        sa.func.count() >= needed(review),
                        sa.func.min(d.decision) == sa.func.max(d.decision),
                    ),
                    sa.func.min(d.decision),
                ),
                else_=sa.null(),
            )
        )
        .where(d.record_id == record_id, d.stage == TITLE_ABSTRACT, current(d))
        .scalar_subquery()
    )
    passed = sa.func.coalesce(resolution, agreed).in_(PASSES)
    if not candidates:
        return passed
    # With no include/maybe anywhere it cannot have passed: one set, built once.
    possible = sa.union(
        sa.select(Decision.record_id).where(
            Decision.review_id == review.id,
            Decision.stage == TITLE_ABSTRACT,
            current(Decision),
            Decision.decision.in_(PASSES),
        ),
        sa.select(Resolution.record_id).where(
            Resolution.review_id == review.id,
            Resolution.stage == TITLE_ABSTRACT,
            current(Resolution),
            Resolution.decision.in_(PASSES),
        ),
    )
    return sa.and_(record_id.in_(possible), passed)
