"""The screening order a person chose for themselves, kept on the server per user, review
and stage.

A review screens in its own order (``Review.screening_order``); a person may choose the
other of :data:`.queue.ORDERS` for themselves at a stage. The choice lives in
``screening_order_choice``, so it survives signing out, another browser and another app
server, like skipped records (:mod:`.skips`). It is a person's, not the review's: a
backup of the review leaves it out, as it leaves out skips and holds. Keyed by user, not
membership, because an admin screens a review without a membership row. Domain
operations: they flush, the caller commits.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.accounts.users import require_role
from litreview.db import insert_unless_present, utcnow
from litreview.models import Review, ScreeningOrderChoice, User
from litreview.screening.outcomes import check_stage
from litreview.screening.queue import ORDERS, check_order

_UNIQUE = ("review_id", "user_id", "stage")


def _mine(review: Review, user: User, stage: str) -> list[sa.ColumnElement[bool]]:
    c = ScreeningOrderChoice
    return [c.review_id == review.id, c.user_id == user.id, c.stage == stage]


def chosen(session: Session, review: Review, user: User, stage: str) -> str | None:
    """The order ``user`` chose for themselves at ``stage``, or None for the review's."""
    check_stage(stage)
    order = session.scalar(
        sa.select(ScreeningOrderChoice.chosen).where(*_mine(review, user, stage))
    )
    # An order a later version no longer knows falls back to the review's.
    return order if order in ORDERS else None


def choose(session: Session, review: Review, user: User, stage: str, order: str) -> None:
    """Keep ``order`` as ``user``'s own at ``stage``. Raises Invalid for an unknown order
    or stage, NotAllowed unless they may screen the review. Two tabs choosing at the same
    moment leave one row, holding the order chosen last."""
    check_stage(stage)
    check_order(order)
    require_role(session, review, user, "lead", "reviewer")
    change = (
        sa.update(ScreeningOrderChoice)
        .where(*_mine(review, user, stage))
        .values(chosen=order, chosen_at=utcnow())
    )
    if session.execute(change).rowcount:
        return
    values = {"review_id": review.id, "user_id": user.id, "stage": stage, "chosen": order}
    if not insert_unless_present(session, ScreeningOrderChoice.__table__, values, _UNIQUE):
        # Another request inserted the row between the UPDATE and the INSERT: this choice
        # came later, so it is the one kept.
        session.execute(change)
