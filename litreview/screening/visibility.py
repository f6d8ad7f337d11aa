"""What a person may see of a record's screening: the one place that decides it.

Blind dual mode: a reviewer (or viewer) sees no other reviewer's decision on a record
at a stage until they have decided it themselves, or until it is settled there
(enough reviewers decided, or a lead resolved it: then nobody screens it blind any
more, and a third reviewer who resolves a conflict must see both sides). Leads see
every decision at any time. Single mode hides nothing.

A relevance ranking (:mod:`litreview.screening.relevance`) is a view of decisions too,
so what it may learn from is decided here (:func:`decisions_to_learn_from`): in blind
dual mode each reviewer's own ranking learns from their own decisions and the settled
outcomes, never from another reviewer's pending decision, which the order of their
queue would otherwise give away.

Outcomes (:mod:`litreview.screening.outcomes`) need no hiding: in dual mode a record
has an outcome only once two reviewers decided it, so an outcome never tells anyone
how a single other reviewer decided. Every face shows outcomes from there and
individual decisions through :func:`visible_decisions` and :func:`history`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from litreview.accounts.users import members, role_of
from litreview.library.listing import review_record
from litreview.models import (
    Decision,
    Membership,
    Record,
    Resolution,
    Review,
    StageOutcome,
    User,
)
from litreview.models.screening import STAGES
from litreview.screening.decisions import current_decisions, may_resolve
from litreview.screening.outcomes import CONFLICT, check_stage, needed, outcomes_at
from litreview.screening.sql import current


@dataclass
class Conflict:
    """A record whose reviewers disagree at a stage, with their current decisions."""

    record: Record
    stage: str
    decisions: list[Decision]


def sees_others(
    review: Review, role: str | None, *, decided_myself: bool, votes: int, resolved: bool
) -> bool:
    """Whether a person with ``role`` sees the other reviewers' decisions on a record at a
    stage where ``votes`` reviewers decided (see the module docstring): the blind rule.
    ``resolved``: settled without the votes the mode needs (a resolution, or a decision
    kept as settled alone when the review switched to dual mode)."""
    if review.screening_mode != "dual" or role == "lead":
        return True
    return decided_myself or resolved or votes >= needed(review)


def visible_decisions(
    session: Session, review: Review, record_id: int, user: User, stage: str
) -> list[Decision]:
    """The current decisions on a record at a stage that ``user`` may see."""
    check_stage(stage)
    review_record(session, review, record_id)
    decisions = current_decisions(session, record_id, stage)
    kept = session.execute(
        sa.select(StageOutcome.resolved, StageOutcome.outcome).where(
            StageOutcome.record_id == record_id, StageOutcome.stage == stage
        )
    ).first()
    resolved = kept is not None and (kept.resolved or kept.outcome is not None)
    mine = any(d.user_id == user.id for d in decisions)
    if sees_others(
        review,
        role_of(session, review, user),
        decided_myself=mine,
        votes=len(decisions),
        resolved=bool(resolved),
    ):
        return decisions
    return [d for d in decisions if d.user_id == user.id]


def while_screening(
    session: Session, review: Review, record_id: int, user: User, stage: str
) -> tuple[Decision | None, list[Decision]]:
    """(``user``'s own current decision, the others' they may see) on the screening page.

    Stricter than :func:`visible_decisions`: in blind dual mode the page where a person
    decides shows nobody else's decision before their own, to leads as well (a lead
    who screens is a reviewer like the others).
    """
    visible = visible_decisions(session, review, record_id, user, stage)
    mine = next((d for d in visible if d.user_id == user.id), None)
    if review.screening_mode == "dual" and mine is None:
        return None, []
    return mine, [d for d in visible if d.user_id != user.id]


def reviewers_to_filter_by(session: Session, review: Review, user: User) -> list[Membership]:
    """The screeners (leads and reviewers, users loaded, as :func:`members` orders them)
    whose decisions ``user`` may filter the records table by: all of them for a lead or
    in single mode; in blind dual mode only ``user`` themselves, since filtering by
    another reviewer would show what they decided. Two queries."""
    everyone = members(session, review)
    role = role_of(session, review, user)  # an admin is a lead without a membership
    screeners = [m for m in everyone if m.role in ("lead", "reviewer")]
    if sees_others(review, role, decided_myself=False, votes=0, resolved=False):
        return screeners
    return [m for m in screeners if m.user_id == user.id]


def history(
    session: Session, review: Review, record_id: int, *, for_user: User | None = None
) -> list[Decision | Resolution]:
    """Every decision and resolution on a record, current or not, oldest first.

    With ``for_user``, the blind rule applies per stage: at a stage where the person
    may not see the others' decisions, only their own rows are listed.
    """
    review_record(session, review, record_id)
    decisions = list(
        session.scalars(
            sa.select(Decision)
            .where(Decision.record_id == record_id)
            .options(selectinload(Decision.user))
        )
    )
    resolutions = list(
        session.scalars(
            sa.select(Resolution)
            .where(Resolution.record_id == record_id)
            .options(selectinload(Resolution.user))
        )
    )
    if for_user is not None and review.screening_mode == "dual":
        role = role_of(session, review, for_user)
        hidden: set[str] = set()
        for stage in STAGES:
            at_stage = [d for d in decisions if d.stage == stage and d.current]
            if not sees_others(
                review,
                role,
                decided_myself=any(d.user_id == for_user.id for d in at_stage),
                votes=len(at_stage),
                resolved=any(r.stage == stage and r.current for r in resolutions)
                or (len(at_stage) == 1 and at_stage[0].settled_alone),
            ):
                hidden.add(stage)
        decisions = [d for d in decisions if d.stage not in hidden or d.user_id == for_user.id]
        resolutions = [r for r in resolutions if r.stage not in hidden]
    rows: list[Decision | Resolution] = [*decisions, *resolutions]
    rows.sort(key=lambda r: (_utc(r.created_at), isinstance(r, Resolution), r.id))
    return rows


def _utc(moment: datetime) -> datetime:
    # SQLite gives back naive UTC; rows made in this session still carry their tzinfo.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def conflicts(session: Session, review: Review, stage: str) -> list[Conflict]:
    """Records whose reviewers disagree at ``stage`` with no resolution yet, by record id.

    Each comes with the current decisions (users loaded). Two queries, whatever the count.
    """
    check_stage(stage)
    records = list(
        session.scalars(
            sa.select(Record)
            .join(StageOutcome, StageOutcome.record_id == Record.id)
            .where(
                StageOutcome.review_id == review.id,
                StageOutcome.stage == stage,
                StageOutcome.outcome == CONFLICT,
                Record.merged_into_id.is_(None),
                Record.withdrawn_at.is_(None),
            )
            .order_by(Record.id)
        )
    )
    by_record: dict[int, list[Decision]] = {r.id: [] for r in records}
    for start in range(0, len(records), 500):
        chunk = [r.id for r in records[start : start + 500]]
        rows = session.scalars(
            sa.select(Decision)
            .where(Decision.record_id.in_(chunk), Decision.stage == stage, current(Decision))
            .options(selectinload(Decision.user))
            .order_by(Decision.id)
        )
        for row in rows:
            by_record[row.record_id].append(row)
    return [Conflict(record=r, stage=stage, decisions=by_record[r.id]) for r in records]


def on_conflicts_page(
    review: Review, role: str | None, user_id: int, decisions: list[Decision]
) -> list[Decision]:
    """The decisions on a record in conflict that a person sees on the conflicts page.

    Single mode hides nothing. In blind dual mode the page shows both sides only to
    those who may resolve the record (a lead, or a reviewer who did not decide it:
    ``decisions.may_resolve``): a reviewer whose decision is one side sees their own
    and that the other differs, so that the case is settled by a third view rather than
    argued by the two who disagree; a viewer sees that there is a conflict.
    """
    if review.screening_mode != "dual" or may_resolve(role, user_id, decisions):
        return decisions
    return [d for d in decisions if d.user_id == user_id]


def decisions_to_learn_from(
    session: Session, review: Review, stage: str, learner: int
) -> dict[int, str]:
    """What a relevance ranking may learn from at ``stage``: live record id -> include,
    exclude or maybe.

    ``learner`` 0, the stage's shared ranking (single mode): every record's outcome.
    A reviewer's id, their own ranking (blind dual mode): the settled outcomes (a record
    has one only once enough reviewers decided or a lead resolved it, when everyone may
    see the decisions) and, where none is settled, that reviewer's own current
    decision; never another reviewer's decision on an unsettled record. Two queries.
    """
    check_stage(stage)
    learned = {r: o for r, o in outcomes_at(session, review, stage).items() if o != CONFLICT}
    if learner == 0:
        return learned
    own = session.execute(
        sa.select(Decision.record_id, Decision.decision)
        .join(Record, Record.id == Decision.record_id)
        .where(
            Decision.review_id == review.id,
            Decision.stage == stage,
            Decision.user_id == learner,
            current(Decision),
            Record.merged_into_id.is_(None),
            Record.withdrawn_at.is_(None),
        )
    )
    for record_id, decision in own:
        learned.setdefault(record_id, decision)
    return learned
