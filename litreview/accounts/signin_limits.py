"""Sign-in attempts, limited per email and address, counted in the database.

After ``max_failures`` failed sign-ins for one email from one IP address within
``window`` seconds, that pair is refused until the oldest of them leaves the window; an
address is also refused after ``max_per_ip`` failures (any emails) in the window, which
stops one machine guessing across many accounts. A successful sign-in forgives its
pair's failures (the address's total keeps them).

Each attempt is counted *before* its password is checked: :func:`admit` counts what is
in the window and, if the attempt may go on, writes it as "checking" for the caller to
commit at once; only then is the (slow, argon2) password checked, and :func:`settle`
writes how it ended. An attempt whose check never ends (the process died) stays
counted as a failure. Counting and writing are one step for each address: PostgreSQL
takes a transaction-level advisory lock on the address first; on SQLite the attempt's
first write takes the database's one write lock. So forty guesses at once, on any
number of processes and app servers sharing the database, reach the password check
``max_failures`` times, not forty, and a refused attempt never reaches it at all: the
limit also caps the CPU argon2 can be made to spend.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.models import SignInAttempt, User, utcnow

# pg_advisory_xact_lock(_LOCKS, address): one sign-in from an address at a time.
_LOCKS = 0x4C52_5349  # "LRSI"
_COUNTED = ("checking", "failed")


@dataclass(frozen=True)
class SignInLimits:
    """How many failures, from where, in what window (seconds)."""

    max_failures: int = 5
    max_per_ip: int = 50
    window: float = 15 * 60


@dataclass(frozen=True)
class Admission:
    """What :func:`admit` decided: the attempt's id to settle, or seconds to wait."""

    attempt_id: int | None
    retry_after: int = 0


def _aware(at: datetime) -> datetime:
    # SQLite gives back naive datetimes; every time stored here is UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _lock_address(session: Session, ip: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(ip.encode()) - 2**31  # a signed 32-bit int, as Postgres wants
        lock = sa.func.pg_advisory_xact_lock(sa.cast(_LOCKS, sa.Integer), sa.cast(key, sa.Integer))
        session.execute(sa.select(lock))
    # SQLite: the DELETE that follows begins the write transaction and takes the
    # database's write lock, held until the caller commits.


def _wait(session: Session, where: sa.ColumnElement[bool], limit: int, start: datetime) -> float:
    """Seconds until fewer than ``limit`` counted attempts match ``where`` in the window."""
    if limit <= 0:
        return float("inf")
    oldest_that_counts = session.scalar(
        sa.select(SignInAttempt.at)
        .where(where, SignInAttempt.at > start, SignInAttempt.outcome.in_(_COUNTED))
        .order_by(SignInAttempt.at.desc(), SignInAttempt.id.desc())
        .offset(limit - 1)
        .limit(1)
    )
    if oldest_that_counts is None:
        return 0.0
    return (_aware(oldest_that_counts) - start).total_seconds()


def admit(
    session: Session, limits: SignInLimits, email: str, ip: str, *, now: datetime | None = None
) -> Admission:
    """Count a sign-in attempt for ``email`` from ``ip`` before its password is checked.

    Returns the attempt's id when it may go on (it is flushed as "checking": the caller
    commits before checking the password, so that every other process counts it), or
    the whole seconds to wait when the pair or the address reached its limit (nothing
    is written then, beyond forgetting attempts older than the window).
    """
    now = now or utcnow()
    start = now - timedelta(seconds=limits.window)
    _lock_address(session, ip)
    session.execute(sa.delete(SignInAttempt).where(SignInAttempt.at <= start))
    pair = sa.and_(
        SignInAttempt.email == email, SignInAttempt.ip == ip, SignInAttempt.forgiven.is_(False)
    )
    wait = max(
        _wait(session, pair, limits.max_failures, start),
        _wait(session, SignInAttempt.ip == ip, limits.max_per_ip, start),
    )
    if wait > 0:
        return Admission(None, max(1, int(min(wait, limits.window) + 0.999)))
    attempt = SignInAttempt(email=email, ip=ip, at=now, outcome="checking")
    session.add(attempt)
    session.flush()
    return Admission(attempt.id)


def settle(session: Session, attempt_id: int, email: str, ip: str, user: User | None) -> None:
    """Write how an admitted attempt ended, with its audit entry (``user.signin``, or
    ``user.signin_failed`` naming the account if the email has one).

    ``user`` is the account signed in, or None when the email and password did not
    match. A success forgives the pair's failures.
    """
    outcome = "ok" if user is not None else "failed"
    session.execute(
        sa.update(SignInAttempt).where(SignInAttempt.id == attempt_id).values(outcome=outcome)
    )
    if user is not None:
        session.execute(
            sa.update(SignInAttempt)
            .where(
                SignInAttempt.email == email,
                SignInAttempt.ip == ip,
                SignInAttempt.outcome.in_(_COUNTED),
            )
            .values(forgiven=True)
        )
        target = user.id
    else:
        target = session.scalar(sa.select(User.id).where(User.email == email))
    audit.log(
        session,
        email,
        "user.signin" if user is not None else "user.signin_failed",
        target_type="user",
        target_id=target,
        ip=ip,
    )
