"""What the index holds for a record, read from the database (the one source of truth).

Text only: screening outcomes and review-question tags stay in the database, where
the filters of a search read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.models import (
    Attachment,
    AttachmentPage,
    Record,
)


@dataclass
class RecordDoc:
    """One record as the index sees it, with the text of each page of its full texts."""

    record_id: int
    review_id: int
    title: str = ""
    abstract: str = ""
    author: str = ""
    venue: str = ""
    keywords: str = ""
    doi: str = ""
    year: int | None = None
    pages: list[tuple[int | None, str]] = field(default_factory=list)


def load_docs(session: Session, record_ids: Iterable[int]) -> dict[int, RecordDoc]:
    """The documents of those live records that still exist (merged ones left out)."""
    ids = sorted(set(record_ids))
    docs: dict[int, RecordDoc] = {}
    for start in range(0, len(ids), 500):
        docs.update(_load_chunk(session, ids[start : start + 500]))
    return docs


def iter_review_docs(session: Session, review_id: int, chunk: int = 200) -> Iterator[RecordDoc]:
    """Every live record of a review as a document, a chunk at a time (bounded memory)."""
    ids = list(
        session.scalars(
            sa.select(Record.id)
            .where(Record.review_id == review_id, Record.merged_into_id.is_(None))
            .order_by(Record.id)
        )
    )
    for start in range(0, len(ids), chunk):
        batch = _load_chunk(session, ids[start : start + chunk])
        yield from (batch[i] for i in sorted(batch))


def _load_chunk(session: Session, ids: list[int]) -> dict[int, RecordDoc]:
    rows = session.execute(
        sa.select(
            Record.id,
            Record.review_id,
            Record.title,
            Record.abstract,
            Record.authors,
            Record.venue,
            Record.keywords,
            Record.doi,
            Record.year,
        ).where(Record.id.in_(ids), Record.merged_into_id.is_(None))
    )
    docs = {
        r.id: RecordDoc(
            record_id=r.id,
            review_id=r.review_id,
            title=r.title or "",
            abstract=r.abstract or "",
            author="; ".join(_name(a) for a in r.authors or []),
            venue=r.venue or "",
            keywords="; ".join(r.keywords or []),
            doi=(r.doi or "").lower(),
            year=r.year,
        )
        for r in rows
    }
    if not docs:
        return docs
    live = list(docs)
    for record_id, page, text in session.execute(
        sa.select(Attachment.record_id, AttachmentPage.page, AttachmentPage.text)
        .join(Attachment, Attachment.id == AttachmentPage.attachment_id)
        .where(Attachment.record_id.in_(live))
        .order_by(Attachment.id, AttachmentPage.page)
    ):
        docs[record_id].pages.append((page, text))
    return docs


def _name(author: dict) -> str:
    given = author.get("given")
    return f"{given} {author['family']}" if given else str(author.get("family", ""))
