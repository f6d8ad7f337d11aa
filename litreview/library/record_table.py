"""The records table's query: filters, sorting and pages in two queries, whatever the size.

One query counts the matching records, one fetches a page of them with everything a
row shows (the outcome at the chosen stage, whether there is a PDF), so a page never
makes a query per record. Outcomes are screening's kept ones
(:mod:`litreview.screening.outcomes`), the same every page and export shows. Pages
use OFFSET over indexed columns (see bench/bench_web.py for their cost at 50,000).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.models import (
    Attachment,
    Decision,
    Record,
    RecordSource,
    RecordTag,
    Review,
    StageOutcome,
)
from litreview.models.screening import DECISIONS, STAGES
from litreview.screening.outcomes import FULL_TEXT, went_on_to_full_text
from litreview.screening.sql import current

PAGE_SIZE = 50
DECISION_FILTERS = (*DECISIONS, "conflict", "undecided")
SORTS = {
    "id": (Record.id,),
    "year": (Record.year, Record.id),
    "title": (Record.title, Record.id),
    "venue": (Record.venue, Record.id),
}


@dataclass
class TableQuery:
    """What the person asked the table for (already checked), and what was wrong with it."""

    stage: str = STAGES[0]
    decision: str | None = None
    reviewer: int | None = None
    question: int | None = None
    source: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    has_pdf: bool | None = None
    text: str | None = None
    sort: str = "id"
    descending: bool = False
    page: int = 1
    errors: list[str] = field(default_factory=list)


def _int(args: Any, name: str, label: str, errors: list[str]) -> int | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        errors.append(f"{label}: {value!r} is not a number")
        return None
    return int(value)


def parse(args: Any, allowed: dict[str, set[int]]) -> TableQuery:
    """A TableQuery from query-string arguments; bad values are left out and named in
    ``errors``. ``allowed`` holds the reviewer, question and source ids one may pick."""
    errors: list[str] = []
    q = TableQuery(errors=errors)
    stage = args.get("stage") or STAGES[0]
    if stage in STAGES:
        q.stage = stage
    else:
        errors.append(f"stage {stage!r}: choose title/abstract or full text")
    decision = args.get("decision") or None
    if decision is None or decision in DECISION_FILTERS:
        q.decision = decision
    else:
        errors.append(f"decision {decision!r}: choose one of {', '.join(DECISION_FILTERS)}")
    for name, label in (
        ("reviewer", "reviewer"),
        ("question", "review question"),
        ("source", "source"),
    ):
        value = _int(args, name, label, errors)
        if value is not None and value not in allowed[name]:
            errors.append(f"{label}: there is no such {label} to choose in this review")
            value = None
        setattr(q, name, value)
    q.year_from = _int(args, "year_from", "year from", errors)
    q.year_to = _int(args, "year_to", "year to", errors)
    if q.year_from and q.year_to and q.year_from > q.year_to:
        errors.append(f"years: {q.year_from} comes after {q.year_to}")
        q.year_from = q.year_to = None
    pdf = args.get("pdf") or ""
    q.has_pdf = {"yes": True, "no": False}.get(pdf)
    if pdf and q.has_pdf is None:
        errors.append(f"has PDF {pdf!r}: choose yes or no")
    text = (args.get("q") or "").strip()
    q.text = text[:200] or None
    sort = args.get("sort") or "id"
    q.descending = sort.startswith("-")
    if sort.lstrip("-") in SORTS:
        q.sort = sort.lstrip("-")
    else:
        errors.append(f"sort {sort!r}: sort by {', '.join(SORTS)}")
        q.descending = False
    page = (args.get("page") or "1").strip()
    q.page = int(page) if page.isdigit() and 0 < len(page) < 7 and int(page) > 0 else 1
    return q


@dataclass
class TablePage:
    rows: list[Any]
    total: int
    page: int
    pages: int


def _conditions(session: Session, review: Review, q: TableQuery) -> tuple[list[Any], Any]:
    """The WHERE conditions of ``q`` (the first two: the review, not merged), and the
    "has a PDF" test the rows show."""
    o = StageOutcome
    at_stage = [o.review_id == review.id, o.stage == q.stage]
    where: list[Any] = [Record.review_id == review.id, Record.merged_into_id.is_(None)]
    if q.stage == FULL_TEXT:  # only the records that went on to full text
        where.append(Record.id.in_(went_on_to_full_text(review)))
    if q.reviewer is not None:
        mine = sa.orm.aliased(Decision)
        theirs = [
            mine.record_id == Record.id,
            mine.stage == q.stage,
            mine.user_id == q.reviewer,
            current(mine),
        ]
        if q.decision == "undecided":
            where.append(~sa.exists().where(*theirs))
        elif q.decision is not None:
            where.append(sa.exists().where(*theirs, mine.decision == q.decision))
        else:  # the records this reviewer decided
            where.append(sa.exists().where(*theirs))
    elif q.decision == "undecided":
        decided = sa.select(o.record_id).where(*at_stage, o.outcome.is_not(None))
        where.append(Record.id.not_in(decided))
    elif q.decision is not None:
        where.append(
            Record.id.in_(sa.select(o.record_id).where(*at_stage, o.outcome == q.decision))
        )
    if q.question is not None:
        where.append(
            Record.id.in_(sa.select(RecordTag.record_id).where(RecordTag.question_id == q.question))
        )
    if q.source is not None:
        where.append(
            Record.id.in_(
                sa.select(RecordSource.record_id).where(RecordSource.batch_id == q.source)
            )
        )
    has_pdf = sa.exists().where(Attachment.record_id == Record.id, Attachment.kind == "pdf")
    if q.has_pdf is not None:
        where.append(has_pdf if q.has_pdf else ~has_pdf)
    if q.year_from is not None:
        where.append(Record.year >= q.year_from)
    if q.year_to is not None:
        where.append(Record.year <= q.year_to)
    if q.text:
        # SQLite's LIKE already ignores (ASCII) case, as its lower() would: without
        # lower() on every abstract the scan takes half the time. PostgreSQL: ILIKE.
        sqlite = session.get_bind().dialect.name == "sqlite"

        def contains(column: Any) -> Any:
            if sqlite:
                return column.contains(q.text, autoescape=True)
            return column.icontains(q.text, autoescape=True)

        where.append(sa.or_(contains(Record.title), contains(Record.abstract)))
    return where, has_pdf


def matching_ids(session: Session, review: Review, q: TableQuery) -> list[int]:
    """The ids of every record ``q`` matches, in the table's order, on every page: what
    "everything matching the filter" selects for a bulk action (one query)."""
    where, _has_pdf = _conditions(session, review, q)
    order = [c.desc() if q.descending else c.asc() for c in SORTS[q.sort]]
    return list(session.scalars(sa.select(Record.id).where(*where).order_by(*order)))


def fetch(session: Session, review: Review, q: TableQuery) -> TablePage:
    """The page of records ``q`` asks for, and how many match in all (four queries at
    most, whatever the number of records).

    Conditions are written so that, without a year, text or sort that needs the rows
    themselves, counting and paging read only the (review, merged) index: the decision
    filters are ``id IN (...)`` over the decisions, and withdrawn records are listed
    (marked) rather than filtered out, as ``withdrawn_at`` has no index. The decision
    shown is computed for the page's records only.
    """
    where, has_pdf = _conditions(session, review, q)
    order = [c.desc() if q.descending else c.asc() for c in SORTS[q.sort]]
    # Beyond the review and "not merged" (both in one index), any condition makes
    # SQLite read rows or decisions: then one pass both counts and pages.
    slow_conditions = len(where) > 2

    def count() -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(Record).where(*where))

    def page_of(number: int, with_total: bool) -> list[Any]:
        columns = [Record.id]
        if with_total:
            columns.append(sa.func.count().over().label("total"))
        return session.execute(
            sa.select(*columns)
            .where(*where)
            .order_by(*order)
            .offset((number - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).all()

    page = q.page
    if slow_conditions:
        # Work the conditions out once: the count comes with the page, as a window
        # over every match (only a page past the end needs a count of its own).
        found = page_of(page, with_total=True)
        total = found[0].total if found else count()
    else:
        # Index-only: counting, then skipping to the page, is cheaper than a window.
        total = count()
        found = None
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    if page > pages:
        page, found = pages, None
    if found is None:
        found = page_of(page, with_total=False)
    ids = [row.id for row in found]
    rows = _rows(session, q, ids, has_pdf) if ids else []
    return TablePage(rows=rows, total=total, page=page, pages=pages)


@dataclass
class Row:
    id: int
    year: int | None
    title: str | None
    authors: list[dict[str, Any]]
    venue: str | None
    withdrawn: bool
    has_pdf: bool
    decision: str | None


def _rows(session: Session, q: TableQuery, ids: list[int], has_pdf: Any) -> list[Row]:
    """What the table shows of the page's records, in the page's order (two queries)."""
    found = {
        r.id: r
        for r in session.execute(
            sa.select(
                Record.id,
                Record.year,
                Record.title,
                Record.authors,
                Record.venue,
                Record.withdrawn_at,
                has_pdf.label("has_pdf"),
            ).where(Record.id.in_(ids))
        )
    }
    if q.reviewer is not None:
        decisions = dict(
            session.execute(
                sa.select(Decision.record_id, Decision.decision).where(
                    Decision.record_id.in_(ids),
                    Decision.stage == q.stage,
                    Decision.user_id == q.reviewer,
                    current(Decision),
                )
            ).all()
        )
    else:
        decisions = dict(
            session.execute(
                sa.select(StageOutcome.record_id, StageOutcome.outcome).where(
                    StageOutcome.record_id.in_(ids), StageOutcome.stage == q.stage
                )
            ).all()
        )
    return [
        Row(
            id=i,
            year=found[i].year,
            title=found[i].title,
            authors=found[i].authors or [],
            venue=found[i].venue,
            withdrawn=found[i].withdrawn_at is not None,
            has_pdf=bool(found[i].has_pdf),
            decision=decisions.get(i),
        )
        for i in ids
    ]
