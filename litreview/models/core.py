"""The core tables: reviews, questions, records, where they came from, merges, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from litreview.db import Base, utcnow

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


class Review(Base):
    """A literature review: its questions, its records, its imports."""

    __tablename__ = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str | None] = mapped_column(sa.Text)
    # Screening set-up, edited by the lead.
    criteria: Mapped[str | None] = mapped_column(sa.Text)
    exclusion_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    highlight_include: Mapped[list[str]] = mapped_column(JSON, default=list)
    highlight_exclude: Mapped[list[str]] = mapped_column(JSON, default=list)
    screening_mode: Mapped[str] = mapped_column(sa.String(16), default="single")  # or "dual"
    # An exclusion at title/abstract needs a reason too (at full text one always does).
    # Server default only, as ``screening_order``.
    reason_required_title_abstract: Mapped[bool] = mapped_column(server_default=sa.false())
    # "relevance" (most relevant first, once a stage can be ranked) or "id" (in order).
    # A server default only, so that rows written without it (older code, restores) get it.
    screening_order: Mapped[str] = mapped_column(sa.String(16), server_default="relevance")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    questions: Mapped[list[ReviewQuestion]] = relationship(
        back_populates="review", order_by="ReviewQuestion.position", cascade="all, delete-orphan"
    )


class ReviewQuestion(Base):
    """A review question (theme), with an optional saved theme query."""

    __tablename__ = "review_question"
    __table_args__ = (sa.UniqueConstraint("review_id", "code", name="uq_review_question_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.Text)
    title: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str | None] = mapped_column(sa.Text)
    query: Mapped[str | None] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(default=0)

    review: Mapped[Review] = relationship(back_populates="questions")


class Record(Base):
    """One bibliographic record of a review; a merged duplicate points at its survivor.

    Authors and keywords are ordered JSON lists: they are read and written whole,
    and a table per author would cost a row each at import for no query we make.
    Every entry the record came from, verbatim, is kept on its RecordSource rows.
    """

    __tablename__ = "record"
    __table_args__ = (
        sa.Index("ix_record_review_doi", "review_id", "doi"),
        sa.Index("ix_record_review_pmid", "review_id", "pmid"),
        sa.Index("ix_record_review_match_key", "review_id", "match_key"),
        sa.Index("ix_record_review_merged", "review_id", "merged_into_id"),
        # The few records withdrawn, or whose report is not retrievable, found without
        # reading every record (the screening page's "12 of 59": ``screening.queue.place``).
        sa.Index("ix_record_review_withdrawn", "review_id", "withdrawn_at"),
        sa.Index("ix_record_review_not_retrievable", "review_id", "not_retrievable_at"),
        sa.Index("ix_record_review_zotero_key", "review_id", "zotero_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(sa.String(32), default="other")
    title: Mapped[str | None] = mapped_column(sa.Text)
    abstract: Mapped[str | None] = mapped_column(sa.Text)
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    year: Mapped[int | None]
    venue: Mapped[str | None] = mapped_column(sa.Text)
    volume: Mapped[str | None] = mapped_column(sa.Text)
    issue: Mapped[str | None] = mapped_column(sa.Text)
    pages: Mapped[str | None] = mapped_column(sa.Text)
    doi: Mapped[str | None] = mapped_column(sa.Text)
    pmid: Mapped[str | None] = mapped_column(sa.Text)
    isbn: Mapped[str | None] = mapped_column(sa.Text)
    url: Mapped[str | None] = mapped_column(sa.Text)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(sa.Text)
    publisher: Mapped[str | None] = mapped_column(sa.Text)
    note: Mapped[str | None] = mapped_column(sa.Text)
    # Folded title + year + first author's family name: the "certainly the same" key.
    match_key: Mapped[str | None] = mapped_column(sa.Text)
    merged_into_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("record.id", ondelete="SET NULL")
    )
    # Zotero's item key and version, for sync and push; withdrawn when deleted there.
    zotero_key: Mapped[str | None] = mapped_column(sa.String(16))
    zotero_version: Mapped[int | None]
    withdrawn_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # A report sought at full text that could not be obtained (PRISMA's "reports not
    # retrieved"): who said so, when, and why; cleared when it turns up after all.
    not_retrievable_at: Mapped[datetime | None] = mapped_column(Timestamp)
    not_retrievable_by: Mapped[str | None] = mapped_column(sa.Text)
    not_retrievable_note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    sources: Mapped[list[RecordSource]] = relationship(
        back_populates="record", order_by="RecordSource.id"
    )


class ImportBatch(Base):
    """One file (or library) imported into a review, with what came of it."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    file_name: Mapped[str] = mapped_column(sa.Text)
    format: Mapped[str] = mapped_column(sa.Text)
    source_label: Mapped[str | None] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.Text)
    read_count: Mapped[int] = mapped_column(default=0)
    imported_count: Mapped[int] = mapped_column(default=0)
    merged_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class RecordSource(Base):
    """One entry of one import that a record came from; a merged record keeps them all."""

    __tablename__ = "record_source"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "fingerprint", name="uq_record_source_fingerprint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("record.id", ondelete="CASCADE"), index=True
    )
    batch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("import_batch.id", ondelete="CASCADE"), index=True
    )
    entry_key: Mapped[str] = mapped_column(sa.Text)
    line: Mapped[int | None]
    # A hash of the entry as read, so the same entry imported again is "unchanged".
    fingerprint: Mapped[str] = mapped_column(sa.String(40))
    raw: Mapped[str] = mapped_column(sa.Text)
    # The entry's fields as read, so a merge can be undone and sources compared.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    record: Mapped[Record] = relationship(back_populates="sources")
    batch: Mapped[ImportBatch] = relationship()


class Merge(Base):
    """A duplicate merged into a record: which rule matched, what it filled in; undoable."""

    __tablename__ = "merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    # The record merged away by hand; None when an imported entry was merged on arrival.
    duplicate_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("record.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(sa.Text)
    score: Mapped[float] = mapped_column(default=1.0)
    # field -> the survivor's value before the merge filled it from the duplicate
    filled: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # A merge by hand: what moved from the duplicate to the survivor, by kind ("tags",
    # "annotations", "notes", "attachments", "decisions", "resolutions") -> row ids, so
    # that undoing the merge moves exactly those rows back.
    carried: Mapped[dict[str, list[int]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.Text)
    undone_at: Mapped[datetime | None] = mapped_column(Timestamp)
    undone_by: Mapped[str | None] = mapped_column(sa.Text)

    record: Mapped[Record] = relationship(foreign_keys=[record_id])


class KeepApart(Base):
    """Two records a person said are not duplicates: never listed as a pair again."""

    __tablename__ = "keep_apart"
    __table_args__ = (
        sa.UniqueConstraint("record_a_id", "record_b_id", name="uq_keep_apart_pair"),
        sa.CheckConstraint("record_a_id < record_b_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    record_a_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    record_b_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.Text)


class AuditEntry(Base):
    """Append-only log of every change a person or an import made."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("review.id", ondelete="SET NULL"), index=True
    )
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    actor: Mapped[str] = mapped_column(sa.Text)
    action: Mapped[str] = mapped_column(sa.Text)
    target_type: Mapped[str | None] = mapped_column(sa.Text)
    target_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@sa.event.listens_for(AuditEntry, "before_update")
@sa.event.listens_for(AuditEntry, "before_delete")
def _audit_is_append_only(_mapper, _connection, target: AuditEntry) -> None:
    raise ValueError(f"audit log entry {target.id} cannot be changed or deleted")
