"""What a reviewer screens next, and the record before: the screening queue.

Two orders (:data:`ORDERS`): "relevance", most likely relevant first, following the
last ranking stored for the reviewer (:mod:`.relevance`; records new since it was
trained come after the ranked ones, in id order), and "id", the order the records were
imported in. A review chooses one (``Review.screening_order``, "relevance" by
default); a person may choose the other for themselves. "relevance" is id order until
the stage can be ranked: one relevant and one irrelevant decision.

A few queries each, whatever the size of the review: correlated probes on indexed
columns (the reviewer's own current decision, the record's kept outcome) that stop at
the first record that passes them, walking the ranking's positions or the ids in
order. The ranking is only ever read here: training happens in the background.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from litreview.errors import Invalid
from litreview.models import Decision, RankedRecord, Ranking, Record, Review, StageOutcome, User
from litreview.screening.outcomes import FULL_TEXT, PASSES, TITLE_ABSTRACT, check_stage, needed
from litreview.screening.sql import current

RELEVANCE, ID_ORDER = "relevance", "id"
ORDERS = {RELEVANCE: "most relevant first", ID_ORDER: "in order"}

# Aliases made once: building a fresh alias costs SQLAlchemy more than SQLite spends
# answering a "next record" query, and their names keep the SQL readable.
MINE = aliased(Decision, name="mine")
HERE = aliased(StageOutcome, name="here")
BEFORE = aliased(StageOutcome, name="before")
WITHDRAWN = aliased(Record, name="withdrawn")


def _not_withdrawn(stage: str) -> sa.ColumnElement[bool]:
    """Correlated "not withdrawn" on ``Record``, to put LAST among a query's conditions;
    at full text also "not marked not retrievable": a report nobody could obtain is not
    screened (see ``evidence.retrieval``).

    As a subquery, SQLite evaluates it after the cheap index-only probes, so only the
    record that passed them is read from the table (withdrawn_at has no index).
    """
    gone = WITHDRAWN.withdrawn_at.is_not(None)
    if stage == FULL_TEXT:
        gone = sa.or_(gone, WITHDRAWN.not_retrievable_at.is_not(None))
    return ~sa.exists().where(WITHDRAWN.id == Record.id, gone)


def _not_done_for(review: Review, user: User | None, stage: str) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``Record``: this user still has to decide it at ``stage`` (in single
    mode, anyone: ``user`` may be None there).

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
        if user is None:
            raise ValueError("in dual mode the queue is a reviewer's own")
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


def to_screen(review: Review, user: User | None, stage: str) -> sa.Select:
    """SELECT of the ids of the records ``user`` still has to screen at ``stage`` (in
    single mode anyone: ``user`` may be None)."""
    check_stage(stage)
    return sa.select(Record.id).where(
        Record.review_id == review.id,
        Record.merged_into_id.is_(None),
        *_not_done_for(review, user, stage),
        _not_withdrawn(stage),
    )


def learner_of(review: Review, user: User) -> int:
    """Whose ranking ``user`` screens by: the stage's shared one (0) in single mode, their
    own in blind dual mode (it learns only from what they may see)."""
    return user.id if review.screening_mode == "dual" else 0


def check_order(order: str) -> None:
    """Raise Invalid unless ``order`` is one of ORDERS."""
    if order not in ORDERS:
        raise Invalid(f"screening order {order!r}: choose {' or '.join(ORDERS)}")


def ranking_for(session: Session, review: Review, user: User, stage: str) -> Ranking | None:
    """The last ranking stored for what ``user`` screens at ``stage`` (None: none yet)."""
    return session.scalar(
        sa.select(Ranking).where(
            Ranking.review_id == review.id,
            Ranking.stage == stage,
            Ranking.learner == learner_of(review, user),
        )
    )


def next_record(
    session: Session,
    review: Review,
    user: User,
    stage: str,
    *,
    after_id: int | None = None,
    skip_ids: tuple[int, ...] | list[int] | set[int] = (),
    order: str | None = None,
) -> Record | None:
    """The next record ``user`` has to screen at ``stage``, or None when done.

    Title/abstract: every live record. Full text: live records whose title/abstract
    outcome is include or maybe. Left out: records this user decided, records with a
    resolution, and records decided by enough reviewers already (anyone, in single
    mode; two others, in dual mode). ``skip_ids`` are records the user put off.

    ``order``: "relevance" or "id" (None: the review's choice); see the module.
    ``after_id`` starts after that record in the order (it does not wrap around). In
    relevance order a record the user has decided since says nothing about where to go
    on (the ranking may have been retrained since), so the next is the most relevant
    one left. One query in id order; two to four in relevance order.
    """
    check_stage(stage)
    order = order or review.screening_order or RELEVANCE
    check_order(order)
    base = [Record.review_id == review.id, Record.merged_into_id.is_(None)]
    if skip_ids:
        base.append(Record.id.not_in(list(skip_ids)))
    last = [*_not_done_for(review, user, stage), _not_withdrawn(stage)]
    ranking = ranking_for(session, review, user, stage) if order == RELEVANCE else None
    if ranking is None:
        after = [Record.id > after_id] if after_id is not None else []
        return session.scalar(
            sa.select(Record).where(*base, *after, *last).order_by(Record.id).limit(1)
        )
    after_position: int | None = None
    if after_id is not None:
        still_to_do = session.scalar(sa.select(Record.id).where(Record.id == after_id, *last))
        if still_to_do is None:
            after_id = None
        else:
            after_position = session.scalar(
                sa.select(RankedRecord.position).where(
                    RankedRecord.ranking_id == ranking.id, RankedRecord.record_id == after_id
                )
            )
    if after_id is None or after_position is not None:
        ranked = session.scalar(
            sa.select(Record)
            .join(RankedRecord, RankedRecord.record_id == Record.id)
            .where(
                RankedRecord.ranking_id == ranking.id,
                *([RankedRecord.position > after_position] if after_position is not None else []),
                *base,
                *last,
            )
            .order_by(RankedRecord.position)
            .limit(1)
        )
        if ranked is not None:
            return ranked
        after_id = None
    # Records the ranking has not seen (new since it was trained), in id order.
    unranked = ~sa.exists().where(
        RankedRecord.ranking_id == ranking.id, RankedRecord.record_id == Record.id
    )
    after = [Record.id > after_id] if after_id is not None else []
    return session.scalar(
        sa.select(Record).where(*base, *after, unranked, *last).order_by(Record.id).limit(1)
    )


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
