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

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from litreview.errors import Invalid
from litreview.models import Decision, RankedRecord, Ranking, Record, Review, StageOutcome, User
from litreview.screening import claims
from litreview.screening.outcomes import (
    FULL_TEXT,
    PASSES,
    TITLE_ABSTRACT,
    check_stage,
    live,
    needed,
    not_screened,
)
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
        # A report marked not retrievable (``evidence.retrieval``) cannot be read: it
        # leaves the full-text queue until the mark is cleared.
        conditions.append(Record.not_retrievable_at.is_(None))
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
            # Settled: two votes, a resolution, or a decision kept as settled alone.
            ~sa.exists().where(*here, HERE.outcome.is_not(None)),
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


def order_in_use(review: Review, chosen: str | None) -> str:
    """The order a person screens in: the one they chose (:mod:`.orders`), else the
    review's, else most relevant first."""
    return chosen or review.screening_order or RELEVANCE


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
    skip_ids: tuple[int, ...] | list[int] | set[int] | sa.Select = (),
    order: str | None = None,
    also_skip: Sequence[int] = (),
    offset: int = 0,
) -> Record | None:
    """The next record ``user`` has to screen at ``stage``, or None when done.

    Title/abstract: every live record. Full text: live records whose title/abstract
    outcome is include or maybe, unless their report is marked not retrievable. Left
    out: records this user decided, records with a resolution, and records decided by
    enough reviewers already (anyone, in single mode; two others, in dual mode), and in
    single mode records another reviewer has open (:mod:`.claims`). ``skip_ids`` are
    records the user put off (ids, or a SELECT of them: :func:`.skips.skipped`);
    ``also_skip`` more ids left out (records another reviewer just took). ``offset``:
    the record that many places further down the order (the last one left there if
    fewer are), so that reviewers asking at once are offered different ones
    (:func:`.claims.spread`).

    ``order``: "relevance" or "id" (None: the review's choice); see the module.
    ``after_id`` starts after that record in the order (it does not wrap around). In
    relevance order a record the user has decided since says nothing about where to go
    on (the ranking may have been retrained since), so the next is the most relevant
    one left. One query in id order; two to four in relevance order.
    """
    check_stage(stage)
    order = order_in_use(review, order)
    check_order(order)
    base = [Record.review_id == review.id, Record.merged_into_id.is_(None)]
    if claims.applies(review):
        base.append(claims.not_held_by_others(user, stage))
    if isinstance(skip_ids, sa.Select):
        base.append(Record.id.not_in(skip_ids))
    elif skip_ids:
        base.append(Record.id.not_in(list(skip_ids)))
    if also_skip:
        base.append(Record.id.not_in(list(also_skip)))
    last = [*_not_done_for(review, user, stage), _not_withdrawn(stage)]
    ranking = ranking_for(session, review, user, stage) if order == RELEVANCE else None
    if ranking is None:
        after = [Record.id > after_id] if after_id is not None else []
        return _pick(
            session, sa.select(Record).where(*base, *after, *last).order_by(Record.id), offset
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
        ranked = _pick(
            session,
            sa.select(Record)
            .join(RankedRecord, RankedRecord.record_id == Record.id)
            .where(
                RankedRecord.ranking_id == ranking.id,
                *([RankedRecord.position > after_position] if after_position is not None else []),
                *base,
                *last,
            )
            .order_by(RankedRecord.position),
            offset,
        )
        if ranked is not None:
            return ranked
        after_id = None
    # Records the ranking has not seen (new since it was trained), in id order.
    unranked = ~sa.exists().where(
        RankedRecord.ranking_id == ranking.id, RankedRecord.record_id == Record.id
    )
    after = [Record.id > after_id] if after_id is not None else []
    return _pick(
        session,
        sa.select(Record).where(*base, *after, unranked, *last).order_by(Record.id),
        offset,
    )


def _pick(session: Session, query: sa.Select, offset: int) -> Record | None:
    """The record ``offset`` places down the ordered ``query``, or the last one it
    finds when there are fewer; None when it finds none. Ids first, then the one
    record: ``offset`` whole records would be read to keep one."""
    if not offset:
        return session.scalar(query.limit(1))
    ids = session.scalars(query.with_only_columns(Record.id).limit(offset + 1)).all()
    return session.get(Record, ids[-1]) if ids else None


def previous_record(
    session: Session, review: Review, user: User, stage: str, *, before_id: int | None = None
) -> Record | None:
    """The record ``user`` decided at ``stage`` just before the one shown (``before_id``).

    For a "previous" button that walks back through the person's decisions in the order
    they made them (whatever the screening order): from a record they have not decided
    yet, the one they decided last; from a record they decided, the one they decided
    before it. Only current decisions count (a changed decision counts when it was
    last changed), and records merged away or withdrawn since are stepped over. Two
    queries.
    """
    check_stage(stage)
    mine = [
        Decision.review_id == review.id,
        Decision.stage == stage,
        Decision.user_id == user.id,
        current(Decision),
    ]
    conditions = list(mine)
    if before_id is not None:
        here = session.scalar(sa.select(Decision.id).where(*mine, Decision.record_id == before_id))
        conditions.append(Decision.record_id != before_id)
        if here is not None:
            conditions.append(Decision.id < here)
    return session.scalar(
        sa.select(Record)
        .join(Decision, Decision.record_id == Record.id)
        .where(*conditions, *live(review))
        .order_by(Decision.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Place:
    """Where a reviewer is in a stage: "12 of 59"."""

    total: int  # records at the stage (title/abstract: every live one; full text: passed)
    left: int  # of them, still to screen for this reviewer (skipped ones included)
    number: int | None  # this record's number ("12" of 59) if still to screen, else None

    @property
    def done(self) -> int:
        return self.total - self.left


def place(session: Session, review: Review, user: User, stage: str, record_id: int) -> Place:
    """How many records there are at ``stage`` (at full text, reports marked not
    retrievable left out), how many ``user`` still has to screen (records settled by
    others count as done), and the number the record shown gets: one more than those
    done, when it is still to screen. One query.

    Done is counted from the kept outcomes (index reads), probing the user's own
    decisions only on records still pending, not by walking the queue: the same
    records as :func:`to_screen` leaves out.
    """
    check_stage(stage)
    o = StageOutcome
    # The few records not screened here, listed once: merged away, withdrawn, and at
    # full text reports marked not retrievable.
    dead = not_screened(review, *([Record.not_retrievable_at] if stage == FULL_TEXT else []))
    if stage == FULL_TEXT:
        total = sa.select(sa.func.count()).where(
            o.review_id == review.id,
            o.stage == TITLE_ABSTRACT,
            o.outcome.in_(PASSES),
            o.record_id.not_in(dead),
        )
    else:
        total = sa.select(sa.func.count(Record.id)).where(
            Record.review_id == review.id, Record.id.not_in(dead)
        )
    here_rows = [o.review_id == review.id, o.stage == stage, o.record_id.not_in(dead)]
    if needed(review) == 1:
        # Someone decided or resolved it.
        done = sa.select(sa.func.count()).where(*here_rows).scalar_subquery()
    else:
        # Settled, or still pending with this user's decision on it (waiting for a
        # second reviewer). Every record the user decided here has a kept row, so this
        # is "settled or mine", with one probe per pending record only: counting her
        # own decisions and then the settled ones that are not hers cost a probe per
        # settled record, 25,000 for a reviewer deep into a 50,000-record review.
        settled = sa.select(sa.func.count()).where(*here_rows, o.outcome.is_not(None))
        mine_pending = sa.select(sa.func.count()).where(
            *here_rows,
            o.outcome.is_(None),
            sa.exists().where(
                MINE.record_id == o.record_id,
                MINE.stage == stage,
                MINE.user_id == user.id,
                current(MINE),
            ),
        )
        done = settled.scalar_subquery() + mine_pending.scalar_subquery()
    waiting = to_screen(review, user, stage)
    total_n, done_n, here = session.execute(
        sa.select(total.scalar_subquery(), done, sa.exists(waiting.where(Record.id == record_id)))
    ).one()
    done_n = min(done_n, total_n)
    return Place(total_n, total_n - done_n, done_n + 1 if here else None)
