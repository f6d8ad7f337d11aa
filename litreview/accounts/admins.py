"""What an admin does to accounts: list them, create one (with a link to set its
password), disable and enable, make and unmake admins, change one's own password.

Each operation checks that the person acting may do it (``users.require_admin``) and
calls ``accounts.users`` for the change itself (``set_active``, ``set_password``,
``create_user``), so whatever those do (ending sessions, the audit entry) happens from
every face. Domain operations: they flush, the caller commits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.accounts import invites, users
from litreview.errors import Invalid
from litreview.models import Membership, User


@dataclass(frozen=True)
class Account:
    """One account as the admin page lists it."""

    id: int
    email: str
    name: str | None
    is_admin: bool
    is_active: bool
    created_at: datetime
    reviews: int  # memberships
    reset_link_until: datetime | None  # a usable reset link expires then


def overview(session: Session) -> list[Account]:
    """Every account, by email, with its number of reviews and any usable reset link.
    Three queries."""
    counts = dict(
        session.execute(
            sa.select(Membership.user_id, sa.func.count(Membership.id)).group_by(Membership.user_id)
        ).all()
    )
    resets = invites.pending_resets(session)
    return [
        Account(
            id=u.id,
            email=u.email,
            name=u.name,
            is_admin=bool(u.is_admin),
            is_active=bool(u.is_active),
            created_at=u.created_at if u.created_at.tzinfo else u.created_at.replace(tzinfo=UTC),
            reviews=counts.get(u.id, 0),
            reset_link_until=resets.get(u.id),
        )
        for u in users.list_users(session)
    ]


def create_account(
    session: Session, email: str, *, name: str | None, is_admin: bool, by: User | None
) -> tuple[User, invites.Made]:
    """A new account and a one-time link for its owner to choose a password (an admin
    creates it; nobody else ever knows the password). Until the link is used the
    account has a random password that was never shown."""
    users.require_admin(by, "create accounts")
    user = users.create_user(
        session,
        email,
        secrets.token_urlsafe(32),
        name=name,
        is_admin=is_admin,
        actor=by.email,
    )
    link = invites.reset_link(session, user, by=by, lifetime=invites.INVITE_LIFETIME)
    return user, link


def set_active(session: Session, user: User, active: bool, *, by: User | None) -> bool:
    """Disable or enable ``user``'s account (an admin, not their own); False if it was
    so already. The rule of the last active admin is ``users.set_active``'s."""
    admin = users.require_admin(by, "disable or enable accounts")
    if user.id == admin.id and not active:
        raise Invalid("you cannot disable your own account: ask another admin")
    return users.set_active(session, user, active, actor=admin.email)


def set_admin(session: Session, user: User, is_admin: bool, *, by: User | None) -> bool:
    """Make ``user`` an admin or not (an admin does); False if they were so already.

    An admin creates reviews and accounts and is a lead of every review. The last
    active admin stays one: otherwise nobody could create accounts or reviews.
    """
    admin = users.require_admin(by, "make admins")
    if bool(user.is_admin) == is_admin:
        return False
    if is_admin and not user.is_active:
        raise Invalid(f"{user.email} is disabled: enable the account first")
    if not is_admin:
        others = session.scalar(
            sa.select(sa.func.count(User.id)).where(
                User.is_admin.is_(True), User.is_active.is_(True), User.id != user.id
            )
        )
        if not others:
            raise Invalid(f"{user.email} is the only active admin: make another admin first")
    user.is_admin = is_admin
    session.flush()
    audit.log(
        session,
        admin.email,
        "user.admin" if is_admin else "user.unadmin",
        target_type="user",
        target_id=user.id,
        email=user.email,
    )
    return True


def change_own_password(
    session: Session, user: User, *, current: str, new: str, repeat: str
) -> None:
    """``user`` changes their own password: the current one must be right, the new one
    typed twice. ``users.set_password`` does the change (every other session ends)."""
    if not current:
        raise Invalid("type your current password")
    if new != repeat:
        raise Invalid("the two new passwords differ: type the same password twice")
    if users.authenticate(session, user.email, current) is None:
        raise Invalid("your current password is not the one you typed")
    if new == current:
        raise Invalid("the new password is the same as the current one")
    users.set_password(session, user, new, actor=user.email)
