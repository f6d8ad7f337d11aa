"""The append-only audit log: who did what, when, to which thing; and reading it back.

:func:`log` appends an entry with the caller's transaction. :func:`read` pages through
a review's entries (or the installation's, which belong to no review: accounts),
newest first, filtered by person, action and record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.models import AuditEntry, Review

PAGE = 50
# Detail keys of entries that name a record besides their target, and the only action
# that uses each (None: any): a decision's or an annotation's record, the duplicate a
# merge took in, the other record kept apart, a record split off again.
RECORD_KEYS = {
    "record": None,
    "duplicate": "record.merge",
    "other": "record.keep_apart",
    "restored": "record.unmerge",
}


def log(
    session: Session,
    actor: str,
    action: str,
    *,
    review_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    **details: Any,
) -> None:
    """Append one entry; it is written with the caller's transaction."""
    session.add(
        AuditEntry(
            review_id=review_id,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )
    )


@dataclass(frozen=True)
class Entry:
    """One entry as read back; ``records``: the records it concerns, by id."""

    id: int
    at: datetime
    actor: str
    action: str
    target_type: str | None
    target_id: int | None
    details: dict[str, Any]
    records: tuple[int, ...]


@dataclass(frozen=True)
class Page:
    """One page of entries, newest first; ``older``: the ``before`` of the next page."""

    entries: list[Entry]
    total: int  # entries that match the filters, on every page
    older: int | None


def _scope(review: Review | None) -> sa.ColumnElement[bool]:
    if review is None:
        return AuditEntry.review_id.is_(None)
    return AuditEntry.review_id == review.id


def _detail_is(session: Session, key: str, value: int) -> sa.ColumnElement[bool]:
    item = AuditEntry.details[key]
    if session.get_bind().dialect.name == "postgresql":
        # As text: a detail that is not a number never breaks a cast.
        return item.as_string() == str(value)
    return item.as_integer() == value


def _about_record(session: Session, record_id: int) -> sa.ColumnElement[bool]:
    # The action is compared first: the details are read only where the key can be.
    return sa.or_(
        sa.and_(AuditEntry.target_type == "record", AuditEntry.target_id == record_id),
        *(
            _detail_is(session, key, record_id)
            if action is None
            else sa.and_(AuditEntry.action == action, _detail_is(session, key, record_id))
            for key, action in RECORD_KEYS.items()
        ),
    )


def _records_of(entry: AuditEntry) -> tuple[int, ...]:
    found = []
    if entry.target_type == "record" and entry.target_id is not None:
        found.append(entry.target_id)
    for key in RECORD_KEYS:
        value = (entry.details or {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value not in found:
            found.append(value)
    return tuple(found)


def read(
    session: Session,
    review: Review | None,
    *,
    actor: str | None = None,
    action: str | None = None,
    record_id: int | None = None,
    before: int | None = None,
    limit: int = PAGE,
) -> Page:
    """The entries of ``review`` (None: those of no review, such as accounts'), newest
    first, ``limit`` at a time, older than entry ``before``.

    ``actor``: who acted (an email, any case). ``action``: one action
    (``screen.decide``) or a family of them (``screen.*``). ``record_id``: entries
    about that record: aimed at it, or naming it (a decision's record, a merge's
    duplicate). Two queries.
    """
    where = [_scope(review)]
    if actor:
        where.append(AuditEntry.actor == actor.strip().lower())
    if action:
        action = action.strip()
        if action.endswith(".*"):
            family = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(AuditEntry.action.like(family + "%", escape="\\"))
        else:
            where.append(AuditEntry.action == action)
    if record_id is not None:
        where.append(_about_record(session, record_id))
    total = session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(*where))
    paged = [*where, AuditEntry.id < before] if before is not None else where
    rows = list(
        session.scalars(
            sa.select(AuditEntry).where(*paged).order_by(AuditEntry.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [
        Entry(
            id=row.id,
            at=row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC),
            actor=row.actor,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            details=dict(row.details or {}),
            records=_records_of(row),
        )
        for row in rows
    ]
    return Page(entries, total or 0, rows[-1].id if more and rows else None)


def choices(session: Session, review: Review | None) -> tuple[list[str], list[str]]:
    """Who acted and which actions there are in the log of ``review``, for filters:
    (actors sorted, actions sorted with each family as ``family.*`` before its own)."""
    scope = _scope(review)
    actors = sorted(
        session.scalars(sa.select(AuditEntry.actor).where(scope).distinct()),
        key=str.lower,
    )
    actions = set(session.scalars(sa.select(AuditEntry.action).where(scope).distinct()))
    families = {a.split(".", 1)[0] + ".*" for a in actions if "." in a}
    return actors, sorted(actions | families, key=lambda a: (a.split(".", 1)[0], a[-1] != "*", a))
