"""People and their roles in reviews: accounts, passwords, memberships.

Passwords are hashed with argon2 (argon2-cffi's defaults) and never stored or
logged. Emails are compared and stored in lower case.
"""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session, selectinload

from litreview import audit
from litreview.accounts import sessions
from litreview.errors import Invalid, NotFound
from litreview.models import Membership, Review, User
from litreview.models.accounts import ROLES

log = logging.getLogger(__name__)

MIN_PASSWORD = 8
# argon2 hashes whatever it is given; a cap stops a megabyte "password" costing CPU.
MAX_PASSWORD = 1024
# Deliberately loose: one @, something before it, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_hasher = PasswordHasher()
_dummy_hash: str | None = None


class NotAllowed(Invalid):
    """The user's role in the review does not allow this (the web shows 403)."""


def normalize_email(email: str) -> str:
    """The stored form of an email address: trimmed, lower case."""
    return (email or "").strip().lower()


def _check_email(email: str) -> str:
    email = normalize_email(email)
    if not email:
        raise Invalid("an email address is required")
    if len(email) > 320 or not _EMAIL.match(email):
        raise Invalid(f"{email!r} is not an email address (expected name@example.org)")
    return email


def check_email(email: str) -> str:
    """The stored form of ``email``; Invalid unless it looks like an email address."""
    return _check_email(email)


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"the password must have at most {MAX_PASSWORD} characters")


def create_user(
    session: Session,
    email: str,
    password: str,
    *,
    name: str | None = None,
    is_admin: bool = False,
    actor: str,
) -> User:
    """A new account with an argon2-hashed password; the email is stored in lower case.

    Raises Invalid for a malformed email, a password shorter than 8 characters, or an
    email that already has an account.
    """
    email = _check_email(email)
    _check_password(password)
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Invalid("a user with that email already exists")
    user = User(
        email=email,
        name=(name or "").strip() or None,
        password_hash=_hasher.hash(password),
        is_admin=is_admin,
        is_active=True,
    )
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        # The same email created at the same moment elsewhere; the caller rolls back.
        raise Invalid("a user with that email already exists") from None
    audit.log(
        session,
        actor,
        "user.create",
        target_type="user",
        target_id=user.id,
        email=email,
        is_admin=is_admin,
    )
    return user


def set_password(session: Session, user: User, password: str, *, actor: str) -> None:
    """Replace the user's password (same rules as at creation); logged without the password.

    Every session of the account ends: whoever knew the old password is signed out.
    """
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    session.flush()
    ended = sessions.end_all(session, user)
    audit.log(
        session, actor, "user.password", target_type="user", target_id=user.id, sessions=ended
    )


def set_active(session: Session, user: User, active: bool, *, actor: str) -> bool:
    """Enable or disable an account; False if it was so already.

    A disabled account cannot sign in and every session of it ends at once (enabling it
    again brings none back). The last active admin cannot be disabled: nobody could
    create accounts or reviews any more.
    """
    if bool(user.is_active) == active:
        return False
    if not active and user.is_admin:
        others = session.scalar(
            sa.select(sa.func.count(User.id)).where(
                User.is_admin.is_(True), User.is_active.is_(True), User.id != user.id
            )
        )
        if not others:
            raise Invalid(f"{user.email} is the only active admin: make another admin first")
    user.is_active = active
    session.flush()
    ended = 0 if active else sessions.end_all(session, user)
    audit.log(
        session,
        actor,
        "user.enable" if active else "user.disable",
        target_type="user",
        target_id=user.id,
        email=user.email,
        sessions=ended,
    )
    return True


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None.

    An unknown email still costs one argon2 verification (against a dummy hash), so
    the time taken does not tell whether an account exists. A hash made with older
    parameters is replaced by a fresh one (flushed, for the caller to commit).
    """
    global _dummy_hash
    user = session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    if user is None or not user.password_hash:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash("not a real password, only for timing")
        try:
            _hasher.verify(_dummy_hash, password or "")
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.flush()
        log.info("rehashed the password of user %s", user.id)
    return user


def get_user_by_email(session: Session, email: str) -> User:
    """The user with this email (any case); NotFound otherwise."""
    user = session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(f"no user with email {normalize_email(email)!r}")
    return user


def get_user(session: Session, user_id: int) -> User:
    """The user with this id; NotFound otherwise (for a session cookie's user id)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by email."""
    return list(session.scalars(sa.select(User).order_by(User.email)))


def _lead_count(session: Session, review: Review) -> int:
    return session.scalar(
        sa.select(sa.func.count(Membership.id)).where(
            Membership.review_id == review.id, Membership.role == "lead"
        )
    )


def add_member(
    session: Session, review: Review, user: User, role: str, *, actor: str
) -> Membership:
    """Make ``user`` a member of ``review`` with ``role``, or change the role they have.

    The last lead of a review cannot be demoted: someone must be able to run it.
    """
    if role not in ROLES:
        raise Invalid(f"role {role!r}: choose one of {', '.join(ROLES)}")
    membership = session.scalar(
        sa.select(Membership).where(
            Membership.review_id == review.id, Membership.user_id == user.id
        )
    )
    if membership is not None and membership.role == role:
        return membership
    previous = None if membership is None else membership.role
    if previous == "lead" and _lead_count(session, review) == 1:
        raise Invalid(
            f"{user.email} is the only lead of {review.slug}: make someone else lead first"
        )
    if membership is None:
        membership = Membership(review_id=review.id, user_id=user.id, role=role)
        session.add(membership)
    else:
        membership.role = role
    try:
        session.flush()
    except sa.exc.IntegrityError:
        # Added at the same moment elsewhere; the caller rolls back.
        raise Invalid(
            f"{user.email} was added to {review.slug} at the same moment elsewhere; try again"
        ) from None
    audit.log(
        session,
        actor,
        "member.add" if previous is None else "member.role",
        review_id=review.id,
        target_type="user",
        target_id=user.id,
        email=user.email,
        role=role,
        previous=previous,
    )
    return membership


def remove_member(session: Session, review: Review, user: User, *, actor: str) -> None:
    """Take ``user`` out of ``review``; their decisions stay. Not the last lead."""
    membership = session.scalar(
        sa.select(Membership).where(
            Membership.review_id == review.id, Membership.user_id == user.id
        )
    )
    if membership is None:
        raise NotFound(f"{user.email} is not a member of {review.slug}")
    if membership.role == "lead" and _lead_count(session, review) == 1:
        raise Invalid(
            f"{user.email} is the only lead of {review.slug}: make someone else lead first"
        )
    session.delete(membership)
    session.flush()
    audit.log(
        session,
        actor,
        "member.remove",
        review_id=review.id,
        target_type="user",
        target_id=user.id,
        email=user.email,
        role=membership.role,
    )


def members(session: Session, review: Review) -> list[Membership]:
    """The review's memberships with their users loaded: leads, reviewers, viewers, by email."""
    order = sa.case({role: n for n, role in enumerate(ROLES)}, value=Membership.role)
    return list(
        session.scalars(
            sa.select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(Membership.review_id == review.id)
            .options(selectinload(Membership.user))
            .order_by(order, User.email)
        )
    )


def role_of(session: Session, review: Review, user: User | None) -> str | None:
    """The user's role in the review ("lead", "reviewer", "viewer"), or None.

    This is the one place that decides it. An admin is a lead of every review, member
    or not: whoever runs the installation can act anywhere without adding themselves.
    Inactive users have no role anywhere.
    """
    if user is None or not user.is_active:
        return None
    if user.is_admin:
        return "lead"
    return session.scalar(
        sa.select(Membership.role).where(
            Membership.review_id == review.id, Membership.user_id == user.id
        )
    )


def has_accounts(session: Session) -> bool:
    """Whether any account exists (none: the installation is being set up)."""
    return session.scalar(sa.select(User.id).limit(1)) is not None


def require_admin(user: User | None, doing: str) -> User:
    """``user``, if an active admin; NotAllowed otherwise ("only an admin may {doing}").

    Only admins create reviews and accounts. The first account of an installation is
    the exception, decided by :func:`require_account_creator`.
    """
    if user is None or not user.is_active or not user.is_admin:
        who = "no account" if user is None else f"{user.email} is not an admin"
        raise NotAllowed(f"only an admin may {doing} ({who})")
    return user


def require_account_creator(session: Session, user: User | None, *, is_admin: bool) -> None:
    """Whether ``user`` may create an account now; NotAllowed or Invalid otherwise.

    An admin may. While no account exists anyone may create the first one, which must be
    an admin: otherwise nobody could ever create the next account or a review.
    """
    if has_accounts(session):
        require_admin(user, "create accounts")
    elif not is_admin:
        raise Invalid(
            "there are no accounts yet: the first one must be an admin, "
            "or nobody could create accounts or reviews"
        )


def require_role(session: Session, review: Review, user: User, *roles: str) -> str:
    """The user's role, if it is one of ``roles``; NotAllowed otherwise."""
    role = role_of(session, review, user)
    if role is None:
        raise NotAllowed(f"{user.email} is not a member of {review.slug}")
    if role not in roles:
        raise NotAllowed(
            f"{user.email} is a {role} of {review.slug}; this needs a {' or '.join(roles)}"
        )
    return role


def reviews_for(session: Session, user: User) -> list[Review]:
    """The reviews the user may open (a member of; an admin: every review), by title, slug."""
    if not user.is_active:
        return []
    query = sa.select(Review).order_by(Review.title, Review.slug)
    if not user.is_admin:
        query = query.join(Membership, Membership.review_id == Review.id).where(
            Membership.user_id == user.id
        )
    return list(session.scalars(query))


def roles_for(session: Session, user: User) -> dict[int, str]:
    """The user's role in each review they may open, by review id (the rule of role_of)."""
    if not user.is_active:
        return {}
    if user.is_admin:
        return {review_id: "lead" for review_id in session.scalars(sa.select(Review.id))}
    return dict(
        session.execute(
            sa.select(Membership.review_id, Membership.role).where(Membership.user_id == user.id)
        ).all()
    )
