"""One-time links: an invitation to sign up and join a review, a password reset; making,
listing and withdrawing them (using them: :mod:`litreview.accounts.redeem`).

There is no mail: a link is shown once to whoever made it (a review's lead invites, an
admin resets a password or creates an account) and they hand it over. It carries a
random token (32 bytes, URL-safe); only the token's SHA-256 is kept, so a copy of the
database cannot be turned into working links. A link lasts :data:`INVITE_LIFETIME` or
:data:`RESET_LIFETIME`, works once, and can be withdrawn; a new reset link for an account
withdraws the ones before it, and so does a new invitation for the same email and review.
Every step is audited: ``invite.create``, ``invite.withdraw``, ``reset.create``,
``reset.withdraw``. These are domain operations: they flush, the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.accounts import users
from litreview.errors import Invalid, NotFound
from litreview.models import AccountToken, Review, User, utcnow
from litreview.models.accounts import ROLES

INVITE, RESET = "invite", "reset"
INVITE_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(days=2)
# Where each kind of link leads, on the web app (its views are at these paths).
PATHS = {INVITE: "/join/", RESET: "/reset/"}


@dataclass(frozen=True)
class Made:
    """A link just made: its token is shown this once and kept nowhere."""

    id: int
    kind: str
    token: str
    expires_at: datetime

    @property
    def path(self) -> str:
        return link_path(self.kind, self.token)


@dataclass(frozen=True)
class PendingInvite:
    """An invitation not yet used, withdrawn or expired (the token is not known)."""

    id: int
    email: str | None
    note: str | None
    role: str
    created_by: str
    created_at: datetime
    expires_at: datetime


def link_path(kind: str, token: str) -> str:
    """The path of a link on the web app, e.g. ``/join/TOKEN``."""
    return PATHS[kind] + token


def token_hash(token: str) -> str:
    """What is kept of a link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def aware(at: datetime) -> datetime:
    """A stored time with its time zone: SQLite gives naive datetimes back, and every
    time stored here is UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _make(session: Session, kind: str, lifetime: timedelta, **fields: object) -> Made:
    token = secrets.token_urlsafe(32)
    row = AccountToken(
        kind=kind, token_hash=token_hash(token), expires_at=utcnow() + lifetime, **fields
    )
    session.add(row)
    session.flush()
    return Made(row.id, kind, token, aware(row.expires_at))


def _withdraw_pending(session: Session, *where: sa.ColumnElement[bool]) -> list[int]:
    """Withdraw the unused links matching ``where``; their ids."""
    rows = session.scalars(
        sa.select(AccountToken).where(
            *where, AccountToken.used_at.is_(None), AccountToken.withdrawn_at.is_(None)
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.withdrawn_at = now
    session.flush()
    return [row.id for row in rows]


def invite(
    session: Session,
    review: Review,
    role: str,
    *,
    by: User | None,
    email: str | None = None,
    note: str | None = None,
    lifetime: timedelta = INVITE_LIFETIME,
) -> Made:
    """A one-time link that makes an account and a ``role`` of ``review`` (a lead invites).

    ``email``: the link makes an account for that address only (else the person types
    theirs); someone who has an account already is added as a member instead (see
    :func:`accept_as`). ``note``: who it is for, for the members page. An earlier unused
    invitation for the same email to this review is withdrawn.
    """
    if by is None:
        raise users.NotAllowed("only a lead of the review may invite (no account)")
    users.require_role(session, review, by, "lead")
    if role not in ROLES:
        raise Invalid(f"role {role!r}: choose one of {', '.join(ROLES)}")
    if email:
        email = users.check_email(email)
        if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
            raise Invalid(
                f"{email} has an account already: add them as a member instead of inviting"
            )
    note = (note or "").strip()[:200] or None
    replaced = (
        _withdraw_pending(
            session,
            AccountToken.kind == INVITE,
            AccountToken.review_id == review.id,
            AccountToken.email == email,
        )
        if email
        else []
    )
    made = _make(
        session,
        INVITE,
        lifetime,
        email=email or None,
        note=note,
        review_id=review.id,
        role=role,
        created_by=by.email,
    )
    audit.log(
        session,
        by.email,
        "invite.create",
        review_id=review.id,
        target_type="account_token",
        target_id=made.id,
        role=role,
        email=email or None,
        note=note,
        expires=made.expires_at.replace(microsecond=0).isoformat(),
        replaced=replaced,
    )
    return made


def reset_link(
    session: Session, user: User, *, by: User | None, lifetime: timedelta = RESET_LIFETIME
) -> Made:
    """A one-time link to set a new password for ``user`` (an admin makes it, since there
    is no mail). The account's earlier unused reset links are withdrawn."""
    users.require_admin(by, "make password reset links")
    if not user.is_active:
        raise Invalid(f"{user.email} is disabled: enable the account first")
    replaced = _withdraw_pending(
        session, AccountToken.kind == RESET, AccountToken.user_id == user.id
    )
    made = _make(session, RESET, lifetime, email=user.email, user_id=user.id, created_by=by.email)
    audit.log(
        session,
        by.email,
        "reset.create",
        target_type="user",
        target_id=user.id,
        email=user.email,
        link=made.id,
        expires=made.expires_at.replace(microsecond=0).isoformat(),
        replaced=replaced,
    )
    return made


def withdraw_invite(session: Session, review: Review, invite_id: int, *, by: User) -> bool:
    """Withdraw an unused invitation to ``review`` (a lead); False if it was used,
    withdrawn or expired already. NotFound for an id that is not one of its invitations."""
    users.require_role(session, review, by, "lead")
    row = session.get(AccountToken, invite_id)
    if row is None or row.kind != INVITE or row.review_id != review.id:
        raise NotFound(f"no invitation {invite_id} to {review.slug}")
    withdrawn = _withdraw_pending(session, AccountToken.id == row.id)
    if withdrawn:
        audit.log(
            session,
            by.email,
            "invite.withdraw",
            review_id=review.id,
            target_type="account_token",
            target_id=row.id,
            email=row.email,
            role=row.role,
        )
    return bool(withdrawn)


def withdraw_resets(session: Session, user: User, *, by: User) -> int:
    """Withdraw the account's unused reset links (an admin); how many there were."""
    users.require_admin(by, "withdraw password reset links")
    withdrawn = _withdraw_pending(
        session, AccountToken.kind == RESET, AccountToken.user_id == user.id
    )
    if withdrawn:
        audit.log(
            session,
            by.email,
            "reset.withdraw",
            target_type="user",
            target_id=user.id,
            links=withdrawn,
        )
    return len(withdrawn)


def _pending(kind: str) -> list[sa.ColumnElement[bool]]:
    return [
        AccountToken.kind == kind,
        AccountToken.used_at.is_(None),
        AccountToken.withdrawn_at.is_(None),
        AccountToken.expires_at > utcnow(),
    ]


def pending_invites(session: Session, review: Review) -> list[PendingInvite]:
    """The review's invitations that can still be used, newest first."""
    rows = session.scalars(
        sa.select(AccountToken)
        .where(AccountToken.review_id == review.id, *_pending(INVITE))
        .order_by(AccountToken.id.desc())
    )
    return [
        PendingInvite(
            id=row.id,
            email=row.email,
            note=row.note,
            role=row.role or "",
            created_by=row.created_by,
            created_at=aware(row.created_at),
            expires_at=aware(row.expires_at),
        )
        for row in rows
    ]


def pending_resets(session: Session) -> dict[int, datetime]:
    """When each account's usable reset link expires, by user id."""
    rows = session.execute(
        sa.select(AccountToken.user_id, sa.func.max(AccountToken.expires_at))
        .where(*_pending(RESET))
        .group_by(AccountToken.user_id)
    )
    return {user_id: aware(expires) for user_id, expires in rows}
