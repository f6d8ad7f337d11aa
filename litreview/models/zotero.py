"""A review's link to a Zotero library or collection, for sync and push."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from litreview.db import Base, utcnow
from litreview.models.core import Timestamp


class ZoteroLink(Base):
    """Where a review's Zotero records come from and how far the last sync got.

    The API key itself is never stored; only its last four characters, to show.
    """

    __tablename__ = "zotero_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    library_type: Mapped[str] = mapped_column(sa.String(16))  # user, group
    library_id: Mapped[str] = mapped_column(sa.String(32))
    collection_key: Mapped[str | None] = mapped_column(sa.String(16))
    local: Mapped[bool] = mapped_column(default=False)
    library_version: Mapped[int | None]
    api_key_hint: Mapped[str | None] = mapped_column(sa.String(8))
    tag_prefix: Mapped[str] = mapped_column(sa.Text, default="litreview:")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_synced_at: Mapped[datetime | None] = mapped_column(Timestamp)
