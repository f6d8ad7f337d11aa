"""Records a reviewer put off ("skip"), kept on the server per reviewer, review and stage.

A skipped record leaves the reviewer's queue until everything else at that stage is
done; then the skipped ones come back, the one skipped longest ago first (skipping it
again sends it to the back). Deciding a record takes it off the list. The list lives
in ``screening_skip``, so it survives signing out, another browser and another app
server. Domain operations: they flush, the caller commits.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from litreview.accounts.users import require_role
from litreview.errors import Busy, NotFound
from litreview.models import Record, Review, ScreeningSkip, User
from litreview.screening import claims, queue
from litreview.screening.outcomes import check_stage

HOLD_TRIES = 50


def _mine(review: Review, user: User, stage: str) -> list[sa.ColumnElement[bool]]:
    s = ScreeningSkip
    return [s.review_id == review.id, s.user_id == user.id, s.stage == stage]


def skipped(review: Review, user: User, stage: str) -> sa.Select:
    """SELECT of the ids of the records ``user`` skipped at ``stage``."""
    check_stage(stage)
    return sa.select(ScreeningSkip.record_id).where(*_mine(review, user, stage))


def skip(session: Session, review: Review, user: User, stage: str, record_id: int) -> None:
    """Put a record off for ``user`` at ``stage`` (to the back of the list if it was on
    it). Two people's or two tabs' skips at once give one row."""
    check_stage(stage)
    require_role(session, review, user, "lead", "reviewer")
    found = session.scalar(
        sa.select(Record.id).where(Record.id == record_id, Record.review_id == review.id)
    )
    if found is None:
        raise NotFound(f"no record {record_id} in review {review.slug}")
    unskip(session, review, user, stage, record_id)
    try:
        with session.begin_nested():
            row = ScreeningSkip(review_id=review.id, user_id=user.id, stage=stage)
            row.record_id = record_id
            session.add(row)
    except IntegrityError:  # the same skip from another request at the same moment
        pass


def unskip(session: Session, review: Review, user: User, stage: str, record_id: int) -> None:
    """Take a record off ``user``'s skipped list at ``stage`` (when they decide it)."""
    check_stage(stage)
    session.execute(
        sa.delete(ScreeningSkip).where(
            *_mine(review, user, stage), ScreeningSkip.record_id == record_id
        )
    )


def waiting_count(session: Session, review: Review, user: User, stage: str) -> int:
    """How many records ``user`` skipped at ``stage`` still wait for them (a skipped
    record someone else settled since, or merged away, is not counted)."""
    check_stage(stage)
    put_off = skipped(review, user, stage)
    waiting = queue.to_screen(review, user, stage).where(Record.id.in_(put_off))
    return session.scalar(sa.select(sa.func.count()).select_from(waiting.subquery()))


def next_to_screen(
    session: Session,
    review: Review,
    user: User,
    stage: str,
    *,
    after_id: int | None = None,
    order: str | None = None,
) -> tuple[Record | None, bool]:
    """The record ``user`` screens next at ``stage`` and whether it is one they skipped
    (everything else being done). ``after_id``: the record just decided or left; the
    queue goes on after it and wraps around to the start. ``order`` as in
    :func:`.queue.next_record`. (None, False) when nothing is left. Raises :class:`Busy`
    when every record it tried was taken by another reviewer first (:data:`HOLD_TRIES`
    races lost in a row), rather than offer one that someone else has open.

    In single mode the record is held open for ``user`` (:mod:`.claims`), so reviewers
    asking at the same moment get different records; each of N reviewers screening at
    once, having decided at the same moment, is offered one of the N first records
    (:func:`.claims.spread`), so they seldom reach for the same one."""
    waiting = queue.to_screen(review, user, stage)
    offset = claims.spread(session, review, user, stage, waiting)
    # A hold lost means another reviewer has that record: ask the queue again without
    # it, as many times as reviewers ask at the same moment.
    lost: list[int] = []
    for _attempt in range(HOLD_TRIES):
        record, came_back = _next(session, review, user, stage, after_id, order, lost, offset)
        if record is None or not claims.applies(review):
            break
        if claims.hold(session, review, user, stage, record.id) and session.scalar(
            waiting.where(Record.id == record.id).exists().select()
        ):
            break
        # Lost, or won only after the reviewer who held it decided it and moved on
        # (between this queue's read and the hold): another record, or it is screened
        # twice (bench/bench_holds.py saw 1 to 8 records decided by two reviewers).
        lost.append(record.id)
    else:
        raise Busy(
            "Other reviewers are taking the next records at this very moment; "
            "try again in a moment."
        )
    return record, came_back


def _next(
    session: Session,
    review: Review,
    user: User,
    stage: str,
    after_id: int | None,
    order: str | None,
    lost: list[int],
    offset: int,
) -> tuple[Record | None, bool]:
    put_off = skipped(review, user, stage)
    asked = {"skip_ids": put_off, "order": order, "also_skip": lost, "offset": offset}
    record = queue.next_record(session, review, user, stage, after_id=after_id, **asked)
    if record is None and after_id is not None:
        record = queue.next_record(session, review, user, stage, **asked)
    if record is not None:
        return record, False
    oldest = session.scalar(
        sa.select(Record)
        .join(ScreeningSkip, ScreeningSkip.record_id == Record.id)
        .where(
            *_mine(review, user, stage),
            Record.id.in_(queue.to_screen(review, user, stage)),
            Record.id.not_in(lost),
        )
        .order_by(ScreeningSkip.id)
        .limit(1)
    )
    return oldest, oldest is not None
