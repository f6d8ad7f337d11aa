"""What a reviewer screens next, and the record before: the screening queue.

One query each, whatever the size of the review: correlated probes on indexed
columns (the reviewer's own current decision, the record's kept outcome) that stop at
the first record that passes them, in id order.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from litreview.models import Decision, Record, Review, StageOutcome, User
from litreview.screening.outcomes import FULL_TEXT, PASSES, TITLE_ABSTRACT, check_stage, needed
from litreview.screening.sql import current

# Aliases made once: building a fresh alias costs SQLAlchemy more than SQLite spends
# answering a "next record" query, and their names keep the SQL readable.
MINE = aliased(Decision, name="mine")
HERE = aliased(StageOutcome, name="here")
BEFORE = aliased(StageOutcome, name="before")
WITHDRAWN = aliased(Record, name="withdrawn")


def _not_withdrawn() -> sa.ColumnElement[bool]:
    """Correlated "not withdrawn" on ``Record``, to put LAST among a query's conditions.

    As a subquery, SQLite evaluates it after the cheap index-only probes, so only the
    record that passed them is read from the table (withdrawn_at has no index).
    """
    return ~sa.exists().where(WITHDRAWN.id == Record.id, WITHDRAWN.withdrawn_at.is_not(None))


def _not_done_for(review: Review, user: User, stage: str) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``Record``: this user still has to decide it at ``stage``.

    In the order SQLite should try them (it evaluates subquery conditions as written):
    the one likely to rule out most records first, so most cost one index probe.
    """
    conditions = []
    if stage == FULL_TEXT:
        # outcomes.went_on_to_full_text as a probe of this record alone.
        conditions.append(
            sa.exists().where(
                BEFORE.record_id == Record.id,
                BEFORE.stage == TITLE_ABSTRACT,
                BEFORE.outcome.in_(PASSES),
            )
        )
    here = [HERE.record_id == Record.id, HERE.stage == stage]
    if needed(review) == 1:
        # Nobody decided or resolved it: that includes this user.
        conditions.append(~sa.exists().where(*here))
    else:
        # A reviewer coming back has decided the records before the next one: their
        # own decision is the cheapest probe and rules out the most.
        conditions += [
            ~sa.exists().where(
                MINE.record_id == Record.id,
                MINE.stage == stage,
                MINE.user_id == user.id,
                current(MINE),
            ),
            ~sa.exists().where(*here, sa.or_(HERE.votes >= 2, HERE.resolved)),
        ]
    return conditions


def next_record(
    session: Session,
    review: Review,
    user: User,
    stage: str,
    *,
    after_id: int | None = None,
    skip_ids: tuple[int, ...] | list[int] | set[int] = (),
) -> Record | None:
    """The next record ``user`` has to screen at ``stage``, in id order, or None when done.

    Title/abstract: every live record. Full text: live records whose title/abstract
    outcome is include or maybe. Left out: records this user decided, records with a
    resolution, and records decided by enough reviewers already (anyone, in single
    mode; two others, in dual mode). ``after_id`` starts after that id (it does not
    wrap around); ``skip_ids`` are records the user put off. One query.
    """
    check_stage(stage)
    conditions = [Record.review_id == review.id, Record.merged_into_id.is_(None)]
    if after_id is not None:
        conditions.append(Record.id > after_id)
    if skip_ids:
        conditions.append(Record.id.not_in(list(skip_ids)))
    conditions += [*_not_done_for(review, user, stage), _not_withdrawn()]
    return session.scalar(sa.select(Record).where(*conditions).order_by(Record.id).limit(1))


def previous_record(
    session: Session, review: Review, user: User, stage: str, *, before_id: int | None = None
) -> Record | None:
    """The record before ``before_id`` (in id order) that ``user`` decided at ``stage``.

    For a "previous" button: going back to look at, or change, a decision. Two queries.
    """
    check_stage(stage)
    # Usually one round: a decided record merged away or withdrawn since is stepped over.
    for _round in range(20):
        conditions = [
            Decision.review_id == review.id,
            Decision.stage == stage,
            current(Decision),
            Decision.user_id == user.id,
        ]
        if before_id is not None:
            conditions.append(Decision.record_id < before_id)
        latest = session.scalar(sa.select(sa.func.max(Decision.record_id)).where(*conditions))
        if latest is None:
            return None
        record = session.get(Record, latest)
        if record is not None and record.merged_into_id is None and record.withdrawn_at is None:
            return record
        before_id = latest
    return None
