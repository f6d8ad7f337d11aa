"""One-time links of accounts: invitations to sign up, password resets (accounts.invites)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from litreview.db import Base, utcnow
from litreview.models.core import Timestamp


class AccountToken(Base):
    """A one-time link: ``invite`` (sign up, and join ``review_id`` as ``role``) or
    ``reset`` (set a new password for ``user_id``).

    Only the SHA-256 of the link's random token is kept. A link works once (``used_at``),
    until ``expires_at``, unless withdrawn (``withdrawn_at``). An invitation may name the
    ``email`` it is for; once used, ``user_id`` is the account that used it.
    """

    __tablename__ = "account_token"
    __table_args__ = (sa.Index("ix_account_token_review_kind", "review_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(320))
    note: Mapped[str | None] = mapped_column(sa.String(200))
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    review_id: Mapped[int | None] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(sa.String(16))
    created_by: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)
    withdrawn_at: Mapped[datetime | None] = mapped_column(Timestamp)
