"""People and their roles in reviews."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from litreview.db import Base, utcnow
from litreview.models.core import Timestamp

ROLES = ("lead", "reviewer", "viewer")


class User(Base):
    """A person who signs in; the password is an argon2 hash, never the password."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    password_hash: Mapped[str | None] = mapped_column(sa.Text)
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Membership(Base):
    """A user's role in one review: lead, reviewer or viewer."""

    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "user_id", name="uq_membership_review_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    user: Mapped[User] = relationship()


class UserSession(Base):
    """One signed-in browser. Its session cookie carries a random token, of which only a
    hash is kept here; deleting the row ends the session on the server (signing out, a
    password change, an account disabled), whatever the browser still holds."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class SignInAttempt(Base):
    """One sign-in attempt, counted before its password is checked; shared by every app
    server through the database. ``outcome`` is "checking" until the check ends, then
    "failed" or "ok"; ``forgiven`` marks failures a later success for the same email
    from the same address cleared (they still count against the address)."""

    __tablename__ = "signin_attempt"
    __table_args__ = (sa.Index("ix_signin_attempt_ip_at", "ip", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    ip: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    outcome: Mapped[str] = mapped_column(sa.String(16), default="checking")
    forgiven: Mapped[bool] = mapped_column(default=False)
