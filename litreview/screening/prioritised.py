"""Prioritised screening as the screening page shows it: the order in use, where the
record stands in the ranking, and the progress toward stopping.

The numbers come from the stored ranking (:mod:`.relevance`) and the decisions; the
stopping test and the hint are :mod:`.stopping`'s. The test needs to know how many
records there are to screen in all: the ranking says (those the learner had screened
when it was trained plus those it ranked), so there is no test before the first
ranking. Records imported since it was trained are added to that count until the next
training ranks them: a count too small would make the test fire too early, one too
large (a record merged away or withdrawn since, an import at the full-text stage)
only makes it wait longer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from litreview.models import Decision, RankedRecord, Ranking, Record, Review, StageOutcome, User
from litreview.screening import stopping
from litreview.screening.outcomes import PASSES, not_screened
from litreview.screening.queue import RELEVANCE, learner_of, order_in_use
from litreview.screening.relevance import stored
from litreview.screening.sql import current


@dataclass(frozen=True)
class Relevance:
    """Where a record stands in the ranking it is screened by."""

    position: int  # 1 = the most likely relevant of the records ranked
    ranked: int
    score: float

    @property
    def percentile(self) -> int:
        """The share of the ranked records this one is ranked above, in percent."""
        return round(100 * (self.ranked - self.position) / max(1, self.ranked))

    @property
    def top(self) -> int:
        """In the top how many percent of the ranked records (1 to 100)."""
        return max(1, math.ceil(100 * self.position / max(1, self.ranked)))


def relevance_of(session: Session, ranking: Ranking | None, record_id: int) -> Relevance | None:
    """The record's place in ``ranking`` (None: no ranking, or not ranked in it). One query."""
    if ranking is None:
        return None
    found = session.execute(
        sa.select(RankedRecord.position, RankedRecord.score).where(
            RankedRecord.ranking_id == ranking.id, RankedRecord.record_id == record_id
        )
    ).first()
    if found is None:
        return None
    return Relevance(found.position + 1, ranking.ranked, found.score)


@dataclass(frozen=True)
class StoppingProgress:
    """Progress toward stopping for what a learner screens at a stage."""

    screened: int
    relevant: int
    since_relevant: int
    total: int | None  # records to screen in all, screened or not (None: no ranking yet)
    test: stopping.TestResult | None
    hint: str | None  # "N irrelevant in a row": labelled as a hint, never a rule


def screened_in_order(session: Session, review: Review, stage: str, learner: int) -> np.ndarray:
    """The live records the learner screened at ``stage`` in the order they were decided,
    as 1 (relevant: include or maybe) or 0: a reviewer's own decisions (blind dual), or
    each record's outcome where it was first decided (shared). Two queries, which
    return the count and the places of the relevant records only (the others are
    zeros): a page can afford it at 30,000 decisions.

    Live: the few records merged away or withdrawn left out by id (``not_screened``, read
    from indexes), not by reading each decided record (a third of the page's time)."""
    d, o, first = Decision, StageOutcome, aliased(Decision, name="first")
    where = [
        d.review_id == review.id,
        d.stage == stage,
        current(d),
        d.record_id.not_in(not_screened(review)),
    ]
    if learner:
        where.append(d.user_id == learner)
        label = d.decision
        query = sa.select(d.id, label.label("label"))
    else:
        # Each record once, where it was first decided, labelled by its outcome.
        where.append(
            ~sa.exists().where(
                first.record_id == d.record_id,
                first.stage == d.stage,
                current(first),
                first.id < d.id,
            )
        )
        label = o.outcome
        query = sa.select(d.id, label.label("label")).join(
            o, sa.and_(o.record_id == d.record_id, o.stage == d.stage)
        )
    numbered = query.add_columns(sa.func.row_number().over(order_by=d.id).label("n")).where(*where)
    inner = numbered.subquery()
    places = list(session.scalars(sa.select(inner.c.n).where(inner.c.label.in_(PASSES))))
    count = session.scalar(sa.select(sa.func.count()).select_from(query.where(*where).subquery()))
    seen = np.zeros(count, dtype=np.int64)
    seen[np.array(places, dtype=np.int64) - 1] = 1
    return seen


def stopping_progress(
    session: Session,
    review: Review,
    user: User,
    stage: str,
    *,
    target: float = stopping.TARGET_RECALL,
    alpha: float = stopping.ALPHA,
) -> StoppingProgress:
    """Screened, relevant found, screened since the last relevant, and the stopping test
    (once a ranking says how many records there are to screen)."""
    ranking = stored(session, review.id, stage, learner_of(review, user))
    return _progress(session, review, user, stage, ranking, target=target, alpha=alpha)


def _progress(
    session: Session,
    review: Review,
    user: User,
    stage: str,
    ranking: Ranking | None,
    *,
    target: float = stopping.TARGET_RECALL,
    alpha: float = stopping.ALPHA,
) -> StoppingProgress:
    """:func:`stopping_progress` with the stored ranking read already (None: none stored),
    so the screening page does not read it twice."""
    seen = screened_in_order(session, review, stage, learner_of(review, user))
    total = None
    if ranking is not None:
        added = session.scalar(
            sa.select(sa.func.count(Record.id)).where(
                Record.review_id == review.id, Record.id > ranking.record_mark
            )
        )
        total = max(ranking.screened + ranking.ranked + added, len(seen))
    test = stopping.recall_test(seen, total, target=target, alpha=alpha) if total else None
    run = stopping.irrelevant_in_a_row(seen)
    hint = (
        f"{run} irrelevant records in a row: a hint only, not a safe stopping rule"
        if run >= stopping.HINT_RUN and seen.any()
        else None
    )
    return StoppingProgress(len(seen), int(seen.sum()), run, total, test, hint)


@dataclass(frozen=True)
class Panel:
    """What the screening page shows of prioritisation for one record."""

    order: str  # the order the user chose (or the review's), "relevance" or "id"
    ranked: bool  # whether that order is followed now (relevance needs a ranking)
    ranking: Ranking | None
    relevance: Relevance | None
    progress: StoppingProgress


def panel(
    session: Session, review: Review, user: User, stage: str, record_id: int, order: str | None
) -> Panel:
    """The order in use, the record's relevance and the progress toward stopping."""
    order = order_in_use(review, order)
    ranking = stored(session, review.id, stage, learner_of(review, user))
    return Panel(
        order=order,
        ranked=order == RELEVANCE and ranking is not None,
        ranking=ranking,
        relevance=relevance_of(session, ranking, record_id),
        progress=_progress(session, review, user, stage, ranking),
    )
