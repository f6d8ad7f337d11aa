"""Who has a record open: in single mode, reviewers screening at once see different records.

In single mode one decision settles a record, and every reviewer's queue is the same
list. Without a hold, reviewers working at the same moment were all offered its first
record until one of them decided it: in the load test (bench/bench_load.py) 86 of 90
records were decided by two or more of 20 reviewers, wasted work that became conflicts
whenever they disagreed. So the record the screening page shows a reviewer is held for
them for :data:`LEASE`; the queue offers everyone else the next one. A reviewer holds
one record per stage (showing them another lets the first go), a decision needs no
hold (anyone may still decide any record they open), and a hold nobody renews simply
runs out: a reviewer who closes the tab blocks nothing for long. Reviewers asking at
once start at different places among the first records (:func:`spread`), so they do not
all reach for the same one.

Dual mode needs no hold: every record is for two reviewers, each screening it blind.
Domain operations: they flush, the caller commits.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.db import insert_unless_present
from litreview.models import Record, Review, ScreeningClaim, User, utcnow

LEASE = timedelta(minutes=10)
_LOCKS = sa.cast(0x4C52_434C, sa.Integer)  # "LRCL": advisory locks of records being held


def applies(review: Review) -> bool:
    """Whether records are held for the reviewer who has them open (single mode)."""
    return review.screening_mode != "dual"


def not_held_by_others(user: User, stage: str) -> sa.ColumnElement[bool]:
    """Condition on ``Record``: no other reviewer holds it open at ``stage`` now."""
    c = ScreeningClaim
    return ~sa.exists().where(
        c.record_id == Record.id, c.stage == stage, c.user_id != user.id, c.until > utcnow()
    )


def spread(
    session: Session, review: Review, user: User, stage: str, still_to_screen: sa.Select
) -> int:
    """How far down the queue ``user`` is offered a record at ``stage``: their place (0,
    1, ...) in user id order among the reviewers about to ask for one, themselves
    counted. ``still_to_screen``: the SELECT of the ids still to screen there
    (:func:`.queue.to_screen`, passed in: the queue builds on this module).

    About to ask: holding a record that is no longer to screen (they have just decided
    it). A reviewer holding a record still to screen is reading it, and that record is
    kept from everyone else already. So a reviewer alone, or asking while the others
    read, is offered the first record (0); when several decided at the same moment, as
    twenty reviewers do every few seconds, each is offered a different one of the first
    few instead of all reaching for the first: one won its hold, the others asked
    again, one after another (the load test's screen_next p95 rose from 1-2 s to 4.6 s
    with holds). 0 in dual mode."""
    if not applies(review):
        return 0
    c = ScreeningClaim
    held = session.execute(
        sa.select(c.user_id, c.record_id).where(
            c.review_id == review.id, c.stage == stage, c.until > utcnow(), c.user_id != user.id
        )
    ).all()
    if not held:
        return 0
    # Asked of the few held records by id: as one correlated query, PostgreSQL planned
    # the queue's conditions over every record of the review for each hold (0.5 s).
    reading = set(session.scalars(still_to_screen.where(Record.id.in_([r for _, r in held]))))
    return sum(1 for other, record_id in held if record_id not in reading and other < user.id)


def hold(session: Session, review: Review, user: User, stage: str, record_id: int) -> bool:
    """Hold ``record_id`` open for ``user`` at ``stage`` for :data:`LEASE`, letting go of
    what they held there before. False when another reviewer holds it (a race lost:
    ask the queue again). Safe under races: one statement inserts or takes over an
    expired hold, so two reviewers asking at once never both hold one record."""
    c = ScreeningClaim
    if session.get_bind().dialect.name == "postgresql":
        # Another reviewer taking this record right now holds its lock: give way at
        # once (ask the queue for another) instead of waiting for their commit, which
        # made twenty reviewers asking at once queue up behind each other.
        key = sa.cast(record_id % 2**31, sa.Integer)
        if not session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(_LOCKS, key))):
            return False
    now = utcnow()
    session.execute(
        sa.delete(c)
        .where(c.user_id == user.id, c.stage == stage, c.record_id != record_id)
        .execution_options(synchronize_session=False)
    )
    values = {
        "review_id": review.id,
        "user_id": user.id,
        "record_id": record_id,
        "stage": stage,
        "until": now + LEASE,
    }
    if insert_unless_present(session, c.__table__, values, unique=("record_id", "stage")):
        return True
    taken = session.execute(
        sa.update(c)
        .where(
            c.record_id == record_id,
            c.stage == stage,
            sa.or_(c.user_id == user.id, c.until <= now),
        )
        .values(user_id=user.id, until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1
