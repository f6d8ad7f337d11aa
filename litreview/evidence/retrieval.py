"""Reports that could not be retrieved: a person says so, with why; it can be taken back.

PRISMA 2020 counts "reports not retrieved" among the reports sought for retrieval (the
records included, or marked maybe, at title/abstract). A record with no PDF yet is not
one of them: its full text may still come. Only a person can say a report cannot be
obtained (the library has no access, the author did not answer), and that mark is what
:mod:`litreview.export.prisma` counts. Marking and clearing are audited; both are
single UPDATEs guarded by the mark's state, so two people doing it at once get one
mark and one audit entry. Domain operations: they flush, the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.errors import Invalid
from litreview.library.listing import live_record
from litreview.models import Record, Review, utcnow
from litreview.screening.outcomes import FULL_TEXT, PASSES, TITLE_ABSTRACT, outcome_at

MAX_NOTE = 2000


@dataclass(frozen=True)
class RetrievalMark:
    """A record's mark: who said its report cannot be retrieved, when, and why."""

    record_id: int
    by: str
    at: datetime
    note: str | None


def mark_of(record: Record) -> RetrievalMark | None:
    """The record's mark, or None when its report is not marked as not retrievable."""
    if record.not_retrievable_at is None:
        return None
    return RetrievalMark(
        record.id,
        record.not_retrievable_by or "",
        record.not_retrievable_at,
        record.not_retrievable_note,
    )


def can_mark(session: Session, review: Review, record: Record) -> str | None:
    """Why ``record`` cannot be marked not retrievable now (None: it can)."""
    if record.withdrawn_at is not None:
        return f"record {record.id} was withdrawn from its library; it is not screened"
    passed = outcome_at(session, review, record.id, TITLE_ABSTRACT)
    if passed not in PASSES:
        return (
            f"record {record.id} is not sought for retrieval: only records included "
            "(or marked maybe) at title/abstract go on to full text"
        )
    read = outcome_at(session, review, record.id, FULL_TEXT)
    if read is not None:
        return (
            f"record {record.id} was assessed at full text ({read}): "
            "a report that was read was retrieved"
        )
    return None


def _set_mark(
    session: Session, record: Record, mark: tuple[datetime, str, str | None] | None
) -> bool:
    """Set the record's mark (when, who, why), or clear it (None), in one UPDATE guarded
    by the mark's state: of two people doing the same at once, exactly one changes it."""
    at, by, note = mark or (None, None, None)
    marked = Record.not_retrievable_at.is_not(None)
    done = session.execute(
        sa.update(Record)
        .where(Record.id == record.id, ~marked if mark else marked)
        .values(not_retrievable_at=at, not_retrievable_by=by, not_retrievable_note=note)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(record)
    return bool(done)


def mark_not_retrievable(
    session: Session, review: Review, record_id: int, actor: str, note: str | None = None
) -> bool:
    """Say that the report of ``record_id`` cannot be retrieved; False when it was
    marked already (the first mark stands). Invalid unless it was sought for
    retrieval and has no full-text decision."""
    record = live_record(session, review, record_id, "mark that one instead")
    why_not = can_mark(session, review, record)
    if why_not:
        raise Invalid(why_not)
    note = " ".join((note or "").split()) or None
    if note and len(note) > MAX_NOTE:
        raise Invalid(f"the note is {len(note):,} characters long; at most {MAX_NOTE:,}")
    if not _set_mark(session, record, (utcnow(), actor, note)):
        return False
    audit.log(
        session,
        actor,
        "record.not_retrievable",
        review_id=review.id,
        target_type="record",
        target_id=record.id,
        note=note,
    )
    session.flush()
    return True


def clear_not_retrievable(session: Session, review: Review, record_id: int, actor: str) -> bool:
    """Take the mark back (the report turned up); False when it was not marked. The
    audit log keeps who had marked it, when and why."""
    record = live_record(session, review, record_id, "mark that one instead")
    before = mark_of(record)
    if before is None:
        return False
    if not _set_mark(session, record, None):
        return False
    audit.log(
        session,
        actor,
        "record.retrievable",
        review_id=review.id,
        target_type="record",
        target_id=record.id,
        marked_by=before.by,
        marked_at=before.at.isoformat(),
        note=before.note,
    )
    session.flush()
    return True


def marked(session: Session, review: Review) -> list[RetrievalMark]:
    """Every live record of the review marked not retrievable, by record id."""
    rows = session.scalars(
        sa.select(Record)
        .where(
            Record.review_id == review.id,
            Record.merged_into_id.is_(None),
            Record.not_retrievable_at.is_not(None),
        )
        .order_by(Record.id)
    )
    return [m for m in map(mark_of, rows) if m is not None]
