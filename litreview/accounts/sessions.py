"""Signed-in browsers, kept on the server, so that a session can be ended there.

Signing in starts a session (:func:`start`): a random token goes into the browser's
signed session cookie, and only its SHA-256 into the database, so a copy of the
database cannot be turned into cookies. Each request finds its user through the token
(:func:`user_of`): a session is good while its row exists, it has not expired and its
account is active. Deleting the row ends it whatever the browser kept: signing out ends
that browser's session (:func:`end`); a password change or disabling the account ends
all of the account's sessions (:func:`end_all`, called by ``accounts.users``). These
are domain operations: they flush, the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.models import User, UserSession, utcnow


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, lifetime: timedelta, *, now: datetime | None = None) -> str:
    """A new session for ``user`` that lasts ``lifetime``; returns its token (for the
    cookie only: it is not kept). Sessions past their end are deleted on the way."""
    now = now or utcnow()
    session.execute(
        sa.delete(UserSession)
        .where(UserSession.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, token_hash=_hash(token), expires_at=now + lifetime))
    session.flush()
    return token


def user_of(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user whose unexpired session has this token, or None."""
    if not token:
        return None
    row = session.execute(
        sa.select(User, UserSession.expires_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _hash(token))
    ).first()
    if row is None:
        return None
    user, expires_at = row
    if expires_at.tzinfo is None:  # SQLite gives naive datetimes back; all are UTC
        expires_at = expires_at.replace(tzinfo=UTC)
    if expires_at <= (now or utcnow()) or not user.is_active:
        return None
    return user


def end(session: Session, token: str, *, actor: str) -> bool:
    """Sign out: end the session with this token, logged as ``user.signout``; False if
    there was none (it ended already)."""
    ended = session.execute(
        sa.delete(UserSession)
        .where(UserSession.token_hash == _hash(token))
        .returning(UserSession.user_id)
        .execution_options(synchronize_session=False)
    ).first()
    if ended is None:
        return False
    audit.log(session, actor, "user.signout", target_type="user", target_id=ended.user_id)
    return True


def end_all(session: Session, user: User) -> int:
    """End every session of ``user``; returns how many there were."""
    removed = session.execute(
        sa.delete(UserSession)
        .where(UserSession.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    return removed.rowcount


def count(session: Session, user: User) -> int:
    """How many sessions ``user`` has (expired ones not yet deleted included)."""
    return session.scalar(
        sa.select(sa.func.count(UserSession.id)).where(UserSession.user_id == user.id)
    )
