"""Switching a review between single and blind dual screening, and what happens to the
decisions already made.

Single to dual: a record one reviewer decided in single mode has a settled outcome. By
default (:data:`KEEP`) it stays settled: its deciding decision is marked
``settled_alone``, which the outcome rule (:func:`.outcomes.outcome_of`) counts as
enough on its own, so the record stays out of everyone's queue and its outcome does not
change. The lead may instead choose :data:`SECOND` (a second reviewer): the marks are
cleared and those records wait for a second, blind decision, as if they had been
screened in dual mode from the start. Records two reviewers decided already get the
dual rule either way (agreement, or a conflict to resolve).

Dual to single: a record one reviewer decided becomes settled by that decision; nothing
to choose.

:func:`preview` counts what a switch would do, for the page that asks first;
:func:`switch` does it. Domain operations: they flush, the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.errors import Invalid
from litreview.models import Decision, Record, Review, StageOutcome
from litreview.models.screening import STAGES
from litreview.screening import outcomes
from litreview.screening.sql import current

MODES = ("single", "dual")
KEEP, SECOND = "keep", "second"
CHOICES = {
    KEEP: "keep them as settled outcomes (no second reviewer needed)",
    SECOND: "send them to a second reviewer (they wait for a second, blind decision)",
}


@dataclass(frozen=True)
class ModeSwitch:
    """What switching a review's screening mode would do to decisions already made."""

    from_mode: str
    to_mode: str
    # Per stage: live records one reviewer decided (unresolved); the ones a switch to
    # dual mode asks about, or a switch to single mode settles.
    lone: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.lone.values())

    @property
    def asks(self) -> bool:
        """Whether the switch should be confirmed first: single to dual with decisions."""
        return self.to_mode == "dual" and self.from_mode == "single" and self.total > 0


def _lone(review: Review) -> list[sa.ColumnElement[bool]]:
    o = StageOutcome
    return [
        o.review_id == review.id,
        o.votes == 1,
        o.resolved.is_(False),
        ~sa.exists().where(
            Record.id == o.record_id,
            sa.or_(Record.merged_into_id.is_not(None), Record.withdrawn_at.is_not(None)),
        ),
    ]


def preview(session: Session, review: Review, to_mode: str) -> ModeSwitch:
    """What switching ``review`` to ``to_mode`` would do: the records one reviewer
    decided, per stage. One query."""
    if to_mode not in MODES:
        raise Invalid(f"screening mode {to_mode!r}: choose single or dual")
    o = StageOutcome
    rows = session.execute(
        sa.select(o.stage, sa.func.count()).where(*_lone(review)).group_by(o.stage)
    )
    counts = dict.fromkeys(STAGES, 0)
    counts.update({stage: n for stage, n in rows})
    return ModeSwitch(review.screening_mode, to_mode, counts)


def switch(session: Session, review: Review, to_mode: str, *, choice: str = KEEP) -> ModeSwitch:
    """Switch ``review`` to ``to_mode``; ``choice`` (:data:`KEEP` or :data:`SECOND`) says
    what happens to the records one reviewer decided when it goes from single to dual.
    Returns what was counted before the switch. Rewrites the kept outcomes."""
    if choice not in CHOICES:
        raise Invalid(f"decisions on a switch to dual mode: choose {' or '.join(CHOICES)}")
    found = preview(session, review, to_mode)
    if to_mode == review.screening_mode:
        return found
    if to_mode == "dual":
        o = StageOutcome
        lone = sa.select(o.record_id, o.stage).where(*_lone(review))
        mine = sa.tuple_(Decision.record_id, Decision.stage).in_(lone)
        where = [Decision.review_id == review.id, current(Decision)]
        # SECOND clears every mark, a lone decision kept by an earlier switch included.
        session.execute(
            sa.update(Decision)
            .where(*where, *([mine] if choice == KEEP else []))
            .values(settled_alone=choice == KEEP)
            .execution_options(synchronize_session=False)
        )
    review.screening_mode = to_mode
    session.flush()
    outcomes.refresh(session, review)
    return found
