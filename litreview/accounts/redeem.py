"""Using a one-time link (:mod:`litreview.accounts.invites`): signing up with an
invitation, or accepting it with an account one has; setting a password with a reset link.

Using a link is one conditional UPDATE (not used, not withdrawn: now used) in the same
transaction as what the link does (the account made, the membership, the password set):
of two people who use it at the same moment one gets the account and the other a clear
"used already", and when what it does fails (a taken email, a short password) the
caller rolls back and the link stays unused. Audited as ``invite.accept`` and
``reset.use``, beside the entries of what the link did (``user.create``,
``member.add``, ``user.password``). Domain operations: they flush, the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.accounts import users
from litreview.accounts.invites import INVITE, RESET, aware, token_hash
from litreview.errors import Invalid
from litreview.models import AccountToken, Membership, Review, User, utcnow
from litreview.models.accounts import ROLES

_RANK = {role: len(ROLES) - n for n, role in enumerate(ROLES)}  # lead 3 ... viewer 1


class LinkRefused(Invalid):
    """The link cannot be used: unknown (``gone`` False), or used, withdrawn or expired."""

    def __init__(self, message: str, *, gone: bool) -> None:
        super().__init__(message)
        self.gone = gone


@dataclass(frozen=True)
class LinkInfo:
    """What a usable link's page shows: who it is for and what it does."""

    kind: str
    email: str | None  # an invitation for this email only; a reset: the account's
    name: str | None  # a reset: the account's name
    review_slug: str | None
    review_title: str | None
    role: str | None
    invited_by: str
    expires_at: datetime


def _usable(session: Session, kind: str, token: str) -> AccountToken:
    """The link with this token if it can be used now; LinkRefused saying why not."""
    row = None
    if token and len(token) <= 100:
        row = session.scalar(
            sa.select(AccountToken).where(
                AccountToken.token_hash == token_hash(token), AccountToken.kind == kind
            )
        )
    if row is None:
        raise LinkRefused("this link is not known: check that it was copied whole", gone=False)
    ask = "ask the review's lead for a new one" if kind == INVITE else "ask an admin for a new one"
    if row.used_at is not None:
        raise LinkRefused(f"this link has been used already: {ask}", gone=True)
    if row.withdrawn_at is not None:
        raise LinkRefused(f"this link was withdrawn: {ask}", gone=True)
    if aware(row.expires_at) <= utcnow():
        when = aware(row.expires_at).strftime("%Y-%m-%d %H:%M UTC")
        raise LinkRefused(f"this link expired on {when}: {ask}", gone=True)
    return row


def _claim(session: Session, row: AccountToken, user_id: int | None) -> None:
    """Mark the link used, unless someone else did a moment ago (then LinkRefused).

    One conditional UPDATE: PostgreSQL makes a second one wait for the first's commit
    and then finds the link used; SQLite lets one writer at a time.
    """
    now = utcnow()
    values: dict[str, object] = {"used_at": now}
    if user_id is not None:
        values["user_id"] = user_id
    claimed = session.execute(
        sa.update(AccountToken)
        .where(
            AccountToken.id == row.id,
            AccountToken.used_at.is_(None),
            AccountToken.withdrawn_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise LinkRefused("this link has just been used by someone else", gone=True)


def look_up(session: Session, kind: str, token: str) -> LinkInfo:
    """What a usable link does, for its page; LinkRefused if it cannot be used."""
    row = _usable(session, kind, token)
    review = session.get(Review, row.review_id) if row.review_id else None
    user = session.get(User, row.user_id) if kind == RESET and row.user_id else None
    inviter = session.scalar(sa.select(User.name).where(User.email == row.created_by))
    return LinkInfo(
        kind=kind,
        email=user.email if user is not None else row.email,
        name=user.name if user is not None else None,
        review_slug=review.slug if review else None,
        review_title=review.title if review else None,
        role=row.role,
        invited_by=inviter or row.created_by,
        expires_at=aware(row.expires_at),
    )


def _check_repeat(password: str, repeat: str) -> None:
    if password != repeat:
        raise Invalid("the two passwords differ: type the same password twice")


def sign_up(
    session: Session, token: str, *, email: str, name: str, password: str, repeat: str
) -> User:
    """Use an invitation: a new account (and its membership of the review); LinkRefused
    or Invalid (the link's email, a taken email, a short password) otherwise, with the
    link left unused."""
    row = _usable(session, INVITE, token)
    _check_repeat(password, repeat)
    email = users.check_email(email)
    if row.email and email != row.email:
        raise Invalid(f"this invitation is for {row.email}")
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Invalid(f"{email} has an account already: sign in with it, then open this link again")
    _claim(session, row, None)
    user = users.create_user(session, email, password, name=name, actor=email)
    _joined(session, row, user)
    return user


def accept_as(session: Session, token: str, user: User) -> Membership | None:
    """Use an invitation as ``user``, who has an account and is signed in: they become a
    member with the invitation's role. None when they already have that role or a
    higher one (an admin leads every review): the link then stays unused."""
    row = _usable(session, INVITE, token)
    if row.email and user.email != row.email:
        raise Invalid(f"this invitation is for {row.email}, and you are signed in as {user.email}")
    review = session.get(Review, row.review_id)
    if review is None:
        raise LinkRefused("the review of this invitation is gone", gone=True)
    current = users.role_of(session, review, user)
    if current is not None and _RANK[current] >= _RANK[row.role]:
        return None
    _claim(session, row, user.id)
    return _joined(session, row, user)


def _joined(session: Session, row: AccountToken, user: User) -> Membership | None:
    review = session.get(Review, row.review_id) if row.review_id else None
    membership = None
    if review is not None:
        membership = users.add_member(session, review, user, row.role, actor=user.email)
    if row.user_id is None:
        session.execute(
            sa.update(AccountToken)
            .where(AccountToken.id == row.id)
            .values(user_id=user.id)
            .execution_options(synchronize_session=False)
        )
    audit.log(
        session,
        user.email,
        "invite.accept",
        review_id=row.review_id,
        target_type="account_token",
        target_id=row.id,
        user=user.id,
        role=row.role,
        invited_by=row.created_by,
    )
    return membership


def reset_password(session: Session, token: str, *, password: str, repeat: str) -> User:
    """Use a reset link: the account's new password; LinkRefused or Invalid (a short
    password, a disabled account) otherwise, with the link left unused."""
    row = _usable(session, RESET, token)
    _check_repeat(password, repeat)
    user = session.get(User, row.user_id) if row.user_id else None
    if user is None:
        raise LinkRefused("the account of this link is gone", gone=True)
    if not user.is_active:
        raise Invalid(f"{user.email} is disabled: ask an admin to enable it")
    _claim(session, row, None)
    users.set_password(session, user, password, actor=user.email)
    audit.log(
        session,
        user.email,
        "reset.use",
        target_type="user",
        target_id=user.id,
        link=row.id,
        made_by=row.created_by,
    )
    return user
