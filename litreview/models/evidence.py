"""Full texts, tags to review questions, annotations, notes, and the search outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from litreview.db import Base, utcnow
from litreview.models.core import Timestamp


class Attachment(Base):
    """A full text linked to a record: a PDF stored once by hash, or Zotero's indexed text.

    ``path`` is relative to the data folder and generated from the hash, never
    taken from the user; ``status`` says what extraction made of it.
    """

    __tablename__ = "attachment"
    __table_args__ = (sa.UniqueConstraint("record_id", "sha256", name="uq_attachment_record_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("record.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32), default="pdf")  # or "zotero_fulltext"
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    path: Mapped[str | None] = mapped_column(sa.Text)
    filename: Mapped[str | None] = mapped_column(sa.Text)
    size: Mapped[int | None]
    page_count: Mapped[int | None]
    status: Mapped[str] = mapped_column(sa.Text, default="pending")
    origin: Mapped[str] = mapped_column(sa.String(32), default="upload")  # folder, zotero
    zotero_key: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.Text)

    pages: Mapped[list[AttachmentPage]] = relationship(
        order_by="AttachmentPage.page", cascade="all, delete-orphan"
    )


class AttachmentPage(Base):
    """The text of one page (page None: text with no page numbers, as Zotero's)."""

    __tablename__ = "attachment_page"
    __table_args__ = (sa.UniqueConstraint("attachment_id", "page", name="uq_attachment_page_page"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attachment_id: Mapped[int] = mapped_column(sa.ForeignKey("attachment.id", ondelete="CASCADE"))
    page: Mapped[int | None]
    text: Mapped[str] = mapped_column(sa.Text)


class RecordTag(Base):
    """A record tagged to a review question; removing it is recorded in the audit log."""

    __tablename__ = "record_tag"
    __table_args__ = (
        sa.UniqueConstraint("record_id", "question_id", name="uq_record_tag_record_question"),
        sa.Index("ix_record_tag_question", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("review_question.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.Text)


class Annotation(Base):
    """A note on a record for a review question: free text, a quoted passage, its page."""

    __tablename__ = "annotation"
    __table_args__ = (sa.Index("ix_annotation_record", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("review_question.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str | None] = mapped_column(sa.Text)
    quote: Mapped[str | None] = mapped_column(sa.Text)
    page: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class RecordNote(Base):
    """A note that came with a record from elsewhere (a Zotero child note)."""

    __tablename__ = "record_note"
    __table_args__ = (sa.Index("ix_record_note_record", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(sa.String(32))
    external_key: Mapped[str | None] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class SearchOutbox(Base):
    """Records changed in a committed transaction whose index update may not have run yet.

    Written in the same transaction as the change; the indexer deletes a row once the
    index holds that record, so a crash between commit and index is caught up later.
    """

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(index=True)
    queued_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
