"""Formatted citations kept per record and style, reused until the record changes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from litreview.db import Base, utcnow
from litreview.models.core import Timestamp


class CitationCache(Base):
    """A citation formatted in one CSL style; ``fingerprint`` is a hash of the record's fields."""

    __tablename__ = "citation_cache"
    __table_args__ = (
        sa.UniqueConstraint("record_id", "style", name="uq_citation_cache_record_style"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    style: Mapped[str] = mapped_column(sa.String(64))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    html: Mapped[str] = mapped_column(sa.Text)
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
