"""Screening: decisions at title/abstract and full text, single or blind dual, conflicts.

Rules this module keeps (the web and the CLI rely on them):

* Only a review's leads and reviewers decide; viewers and non-members get NotAllowed.
* A decision is include, exclude or maybe. A reason goes only with exclude; at the
  full-text stage an exclusion needs one. When the review lists exclusion reasons,
  the reason must be one of them (matched ignoring case, stored as the review spells
  it), so the dashboard's "excluded by reason" stays a short list; a review without a
  list accepts free text.
* Full-text decisions are only for records whose title/abstract outcome is include
  or maybe (a "maybe" is settled by reading the paper); a record in conflict at
  title/abstract waits for its resolution.
* Changing a decision adds a row and clears ``current`` on the old one: the history
  stays. Deciding exactly the same again (a double click) adds nothing.
* Records merged into another or withdrawn are not screened (Invalid).
* Resolutions are rows of their own, never edits of the reviewers' decisions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from litreview import audit
from litreview.accounts.users import NotAllowed, require_role, role_of
from litreview.errors import Invalid, NotFound
from litreview.models import AuditEntry, Decision, Record, Resolution, Review, User
from litreview.models.screening import DECISIONS, STAGES
from litreview.screening.outcome_sql import (
    ANYONE,
    CONFLICT,
    FULL_TEXT,
    MINE,
    PASSES,
    SETTLED,
    TITLE_ABSTRACT,
    current,
    needed,
    not_withdrawn,
    outcomes,
    passed_title_abstract,
)
from litreview.screening.stats import cohen_kappa, kappa_csv, stats

__all__ = [
    "DECISIONS",
    "STAGES",
    "Conflict",
    "cohen_kappa",
    "conflicts",
    "decide",
    "effective_decision",
    "effective_decisions",
    "history",
    "kappa_csv",
    "next_record",
    "previous_record",
    "resolve",
    "stats",
    "undo_last",
    "visible_decisions",
]

log = logging.getLogger(__name__)

# Retries when the same reviewer's decision on the same record is written twice at once.
ATTEMPTS = 3


@dataclass
class Conflict:
    """A record whose reviewers disagree at a stage, with their current decisions."""

    record: Record
    stage: str
    decisions: list[Decision]


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise Invalid(f"stage {stage!r}: choose {' or '.join(STAGES)}")


def _check_decision(decision: str) -> None:
    if decision not in DECISIONS:
        raise Invalid(f"decision {decision!r}: choose {', '.join(DECISIONS)}")


def _record(session: Session, review: Review, record_id: int) -> Record:
    record = session.get(Record, record_id)
    if record is None or record.review_id != review.id:
        raise NotFound(f"no record {record_id} in review {review.slug}")
    return record


def _screenable(session: Session, review: Review, record_id: int) -> Record:
    record = _record(session, review, record_id)
    if record.merged_into_id is not None:
        raise Invalid(
            f"record {record_id} was merged into record {record.merged_into_id}: "
            f"screen record {record.merged_into_id} instead"
        )
    if record.withdrawn_at is not None:
        raise Invalid(f"record {record_id} was withdrawn from the library and is not screened")
    return record


def _clean_reason(review: Review, stage: str, decision: str, reason: str | None) -> str | None:
    reason = (reason or "").strip() or None
    allowed = [r for r in (review.exclusion_reasons or []) if r]
    if decision != "exclude":
        if reason is not None:
            raise Invalid(f"a reason goes only with exclude, not with {decision}")
        return None
    if reason is None:
        if stage == FULL_TEXT:
            choices = f": one of {'; '.join(allowed)}" if allowed else ""
            raise Invalid(f"excluding at full text needs a reason{choices}")
        return None
    if allowed:
        for known in allowed:
            if known.casefold() == reason.casefold():
                return known
        raise Invalid(f"reason {reason!r} is not one of this review's: {'; '.join(allowed)}")
    return reason


def _require_full_text(session: Session, review: Review, record_id: int) -> None:
    outcome = effective_decision(session, review, record_id, TITLE_ABSTRACT)
    if outcome not in PASSES:
        state = {
            None: "not decided yet",
            CONFLICT: "in conflict, waiting for a resolution",
        }.get(outcome, f"{outcome}d")
        raise Invalid(
            f"record {record_id} is not in full-text screening: at title/abstract it is {state}"
        )


def decide(
    session: Session,
    review: Review,
    record_id: int,
    user: User,
    stage: str,
    decision: str,
    *,
    reason: str | None = None,
    note: str | None = None,
) -> Decision:
    """Record ``user``'s decision on a record at a stage and return its (current) row.

    A change adds a new row and clears ``current`` on the old one; the same decision,
    reason and note again returns the existing row. Two reviewers deciding the same
    record at once each keep their own row; the same reviewer twice at once keeps both
    rows, the later one current (the unique index on current rows, then a retry).
    """
    _check_stage(stage)
    _check_decision(decision)
    require_role(session, review, user, "lead", "reviewer")
    _screenable(session, review, record_id)
    reason = _clean_reason(review, stage, decision, reason)
    note = (note or "").strip() or None
    if stage == FULL_TEXT:
        _require_full_text(session, review, record_id)
    session.flush()
    for attempt in range(1, ATTEMPTS + 1):
        outcome = _write_decision(session, review, record_id, user, stage, decision, reason, note)
        if outcome is not None:
            break
        # Another request of this reviewer made a current row for this record in the
        # meantime; it has committed now, so the next attempt sees and replaces it.
        log.info("decision on record %s by user %s raced; attempt %s", record_id, user.id, attempt)
    else:
        raise Invalid(
            f"your decision on record {record_id} was changed elsewhere at the same moment; "
            "reload and decide again"
        )
    row, previous = outcome
    if row.id != (previous.id if previous else None):
        audit.log(
            session,
            user.email,
            "screen.decide",
            review_id=review.id,
            target_type="decision",
            target_id=row.id,
            record=record_id,
            stage=stage,
            decision=decision,
            reason=reason,
            note=note,
            previous=previous.id if previous else None,
            previous_decision=previous.decision if previous else None,
        )
    return row


def _write_decision(
    session: Session,
    review: Review,
    record_id: int,
    user: User,
    stage: str,
    decision: str,
    reason: str | None,
    note: str | None,
) -> tuple[Decision, Decision | sa.Row | None] | None:
    """(new or unchanged row, the row it replaced), or None when a concurrent write won."""
    mine = (
        Decision.record_id == record_id,
        Decision.stage == stage,
        Decision.user_id == user.id,
        current(Decision),
    )
    seen = session.scalar(sa.select(Decision).where(*mine))
    if seen is not None and (seen.decision, seen.reason, seen.note) == (decision, reason, note):
        return seen, seen  # a double click: nothing to add
    # The write comes before the savepoint: on SQLite (pysqlite) a SAVEPOINT that opens
    # the transaction would commit it on release. It also takes SQLite's write lock, so
    # a request that waited for another one's commit now sees what that one wrote;
    # RETURNING says which row was actually replaced, whatever was read above.
    cleared = session.execute(
        sa.update(Decision)
        .where(*mine)
        .values(current=False)
        .returning(Decision.id, Decision.decision, Decision.reason, Decision.note)
        .execution_options(synchronize_session="fetch")
    ).all()
    previous = max(cleared, key=lambda r: r.id) if cleared else None
    if previous is not None and (previous.decision, previous.reason, previous.note) == (
        decision,
        reason,
        note,
    ):
        # The same decision, made at the same moment elsewhere: keep that one.
        same = session.get(Decision, previous.id)
        same.current = True
        session.flush()
        return same, same
    row = Decision(
        review_id=review.id,
        record_id=record_id,
        user_id=user.id,
        stage=stage,
        decision=decision,
        reason=reason,
        note=note,
        current=True,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa.exc.IntegrityError:
        return None
    return row, previous


def undo_last(session: Session, review: Review, user: User, stage: str) -> Decision | None:
    """Withdraw ``user``'s latest current decision at ``stage``; return it, or None.

    The withdrawn row stays (``current`` False, and an audit entry "screen.undo" marks
    it withdrawn). If it had replaced an earlier decision on the same record, that one
    is current again; otherwise the record is undecided for this user and comes back
    in ``next_record``. Repeated undos walk back through the user's decisions in the
    reverse order they were made, like an editor's undo.
    """
    _check_stage(stage)
    require_role(session, review, user, "lead", "reviewer")
    session.flush()
    for _attempt in range(ATTEMPTS):
        latest = session.scalar(
            sa.select(Decision)
            .where(
                Decision.review_id == review.id,
                Decision.user_id == user.id,
                Decision.stage == stage,
                current(Decision),
            )
            .order_by(Decision.id.desc())
            .limit(1)
        )
        if latest is None:
            return None
        cleared = session.execute(
            sa.update(Decision)
            .where(Decision.id == latest.id, current(Decision))
            .values(current=False)
            .execution_options(synchronize_session="fetch")
        ).rowcount
        if cleared == 0:  # a concurrent undo took this one; take the next
            continue
        reinstated = _replaced(session, latest)
        if reinstated is not None:
            try:
                with session.begin_nested():
                    reinstated.current = True
                    session.flush()
            except sa.exc.IntegrityError:
                # A new decision on that record was made meanwhile: it stands.
                reinstated = None
        audit.log(
            session,
            user.email,
            "screen.undo",
            review_id=review.id,
            target_type="decision",
            target_id=latest.id,
            record=latest.record_id,
            stage=stage,
            decision=latest.decision,
            reinstated=reinstated.id if reinstated else None,
        )
        return latest
    raise Invalid("your decisions changed elsewhere at the same moment; reload and undo again")


def _replaced(session: Session, withdrawn: Decision) -> Decision | None:
    """The decision ``withdrawn`` replaced: the newest earlier row not itself withdrawn."""
    undone = sa.select(AuditEntry.id).where(
        AuditEntry.review_id == withdrawn.review_id,
        AuditEntry.action == "screen.undo",
        AuditEntry.target_type == "decision",
        AuditEntry.target_id == Decision.id,
    )
    return session.scalar(
        sa.select(Decision)
        .where(
            Decision.record_id == withdrawn.record_id,
            Decision.stage == withdrawn.stage,
            Decision.user_id == withdrawn.user_id,
            Decision.id < withdrawn.id,
            ~sa.exists(undone),
        )
        .order_by(Decision.id.desc())
        .limit(1)
    )


def effective_decisions(session: Session, review: Review, stage: str) -> dict[int, str]:
    """Every live record's effective decision at ``stage`` (records without one left out).

    Single mode: the current decision. Dual mode: the resolution if any, else the two
    reviewers' decision if they agree, else "conflict"; None (left out) while fewer
    than two have decided. At the full-text stage, only records that went on to it.
    One query.
    """
    _check_stage(stage)
    found = outcomes(review, stage)
    rows = session.execute(
        sa.select(found.c.record_id, found.c.effective)
        .join(Record, Record.id == found.c.record_id)
        .where(found.c.effective.is_not(None), *_live())
    )
    return {record_id: effective for record_id, effective in rows}


def _live() -> list[sa.ColumnElement[bool]]:
    return [Record.merged_into_id.is_(None), Record.withdrawn_at.is_(None)]


def effective_decision(session: Session, review: Review, record_id: int, stage: str) -> str | None:
    """One record's effective decision at ``stage`` (see ``effective_decisions``). One query."""
    _check_stage(stage)
    found = outcomes(review, stage, record_id)
    return session.scalar(sa.select(found.c.effective).limit(1))


def _not_done_for(review: Review, user: User, stage: str) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``Record``: this user still has to decide it at ``stage``.

    In the order SQLite should try them (it evaluates subquery conditions as written):
    the one likely to rule out most records first, so most cost one index probe.
    """
    mine, anyone, res = MINE, ANYONE, SETTLED
    conditions = []
    if stage == FULL_TEXT:
        conditions.append(passed_title_abstract(review))
    if needed(review) == 1:
        # Nobody decided it: that includes this user.
        conditions.append(
            ~sa.exists().where(
                anyone.record_id == Record.id, anyone.stage == stage, current(anyone)
            )
        )
    else:
        decided = (
            sa.select(sa.func.count())
            .where(anyone.record_id == Record.id, anyone.stage == stage, current(anyone))
            .scalar_subquery()
        )
        # A reviewer coming back has decided the records before the next one: their
        # own decision is the cheapest probe and rules out the most.
        conditions += [
            ~sa.exists().where(
                mine.record_id == Record.id,
                mine.stage == stage,
                mine.user_id == user.id,
                current(mine),
            ),
            decided < 2,
        ]
    conditions.append(
        ~sa.exists().where(res.record_id == Record.id, res.stage == stage, current(res))
    )
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
    _check_stage(stage)
    conditions = [Record.review_id == review.id, Record.merged_into_id.is_(None)]
    if after_id is not None:
        conditions.append(Record.id > after_id)
    if skip_ids:
        conditions.append(Record.id.not_in(list(skip_ids)))
    conditions += [*_not_done_for(review, user, stage), not_withdrawn()]
    return session.scalar(sa.select(Record).where(*conditions).order_by(Record.id).limit(1))


def previous_record(
    session: Session, review: Review, user: User, stage: str, *, before_id: int | None = None
) -> Record | None:
    """The record before ``before_id`` (in id order) that ``user`` decided at ``stage``.

    For a "previous" button: going back to look at, or change, a decision. Two queries.
    """
    _check_stage(stage)
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


def _current_decisions(session: Session, record_id: int, stage: str) -> list[Decision]:
    return list(
        session.scalars(
            sa.select(Decision)
            .where(Decision.record_id == record_id, Decision.stage == stage, current(Decision))
            .options(selectinload(Decision.user))
            .order_by(Decision.id)
        )
    )


def _blind_for(
    session: Session, review: Review, user: User | None, decisions: list, resolved: bool
) -> bool:
    """Whether ``user`` may see only their own decisions at a stage (blind dual mode)."""
    if review.screening_mode != "dual" or resolved:
        return False
    if len({d.user_id for d in decisions}) >= needed(review):
        return False
    return role_of(session, review, user) != "lead"


def visible_decisions(
    session: Session, review: Review, record_id: int, user: User, stage: str
) -> list[Decision]:
    """The current decisions on a record at a stage that ``user`` may see.

    Single mode: all of them. Blind dual mode: a reviewer (or viewer) sees only their
    own until two reviewers have decided (or the conflict is resolved); leads see all
    at any time (a lead who screens in dual mode is therefore not blind: the page
    should not show others' decisions to a lead before they decide themselves).
    """
    _check_stage(stage)
    _record(session, review, record_id)
    decisions = _current_decisions(session, record_id, stage)
    resolved = (
        session.scalar(
            sa.select(Resolution.id)
            .where(
                Resolution.record_id == record_id,
                Resolution.stage == stage,
                current(Resolution),
            )
            .limit(1)
        )
        is not None
    )
    if _blind_for(session, review, user, decisions, resolved):
        return [d for d in decisions if d.user_id == user.id]
    return decisions


def conflicts(session: Session, review: Review, stage: str) -> list[Conflict]:
    """Records whose reviewers disagree at ``stage`` with no resolution yet, by record id.

    Each comes with the current decisions (users loaded). Three queries, whatever the count.
    """
    _check_stage(stage)
    found = outcomes(review, stage)
    ids = sa.select(found.c.record_id).where(found.c.effective == CONFLICT)
    records = list(
        session.scalars(sa.select(Record).where(Record.id.in_(ids), *_live()).order_by(Record.id))
    )
    by_record: dict[int, list[Decision]] = {r.id: [] for r in records}
    if records:
        rows = session.scalars(
            sa.select(Decision)
            .where(
                Decision.record_id.in_(list(by_record)),
                Decision.stage == stage,
                current(Decision),
            )
            .options(selectinload(Decision.user))
            .order_by(Decision.id)
        )
        for row in rows:
            by_record[row.record_id].append(row)
    return [Conflict(record=r, stage=stage, decisions=by_record[r.id]) for r in records]


def resolve(
    session: Session,
    review: Review,
    record_id: int,
    user: User,
    stage: str,
    decision: str,
    *,
    reason: str | None = None,
    note: str | None = None,
) -> Resolution:
    """Settle a conflict: a Resolution row of its own; the reviewers' decisions stay as made.

    Who: a lead, or a reviewer who has not decided this record at this stage (a third
    reviewer). What: a record in conflict, or one resolved before (a re-resolution adds
    a row and clears ``current`` on the old one). Reasons follow the rules of ``decide``.
    """
    _check_stage(stage)
    _check_decision(decision)
    role = require_role(session, review, user, "lead", "reviewer")
    _screenable(session, review, record_id)
    reason = _clean_reason(review, stage, decision, reason)
    note = (note or "").strip() or None
    if stage == FULL_TEXT:
        _require_full_text(session, review, record_id)
    # Serialise resolutions of one record (PostgreSQL; SQLite has one writer anyway).
    session.execute(sa.select(Record.id).where(Record.id == record_id).with_for_update())
    decisions = _current_decisions(session, record_id, stage)
    if role != "lead" and any(d.user_id == user.id for d in decisions):
        raise NotAllowed(
            f"{user.email} decided record {record_id} at {stage}: "
            "a lead or a third reviewer resolves it"
        )
    previous = session.scalar(
        sa.select(Resolution)
        .where(
            Resolution.record_id == record_id,
            Resolution.stage == stage,
            current(Resolution),
        )
        .order_by(Resolution.id.desc())
        .limit(1)
    )
    if previous is None:
        outcome = effective_decision(session, review, record_id, stage)
        if outcome != CONFLICT:
            raise Invalid(
                f"record {record_id} has no conflict at {stage} to resolve "
                f"(its decision is {outcome or 'not made yet'})"
            )
    session.execute(
        sa.update(Resolution)
        .where(
            Resolution.record_id == record_id,
            Resolution.stage == stage,
            current(Resolution),
        )
        .values(current=False)
    )
    row = Resolution(
        review_id=review.id,
        record_id=record_id,
        user_id=user.id,
        stage=stage,
        decision=decision,
        reason=reason,
        note=note,
        current=True,
    )
    session.add(row)
    session.flush()
    audit.log(
        session,
        user.email,
        "screen.resolve",
        review_id=review.id,
        target_type="resolution",
        target_id=row.id,
        record=record_id,
        stage=stage,
        decision=decision,
        reason=reason,
        note=note,
        decisions={d.user.email: d.decision for d in decisions},
        previous=previous.id if previous else None,
    )
    return row


def history(
    session: Session, review: Review, record_id: int, *, for_user: User | None = None
) -> list[Decision | Resolution]:
    """Every decision and resolution on a record, current or not, oldest first.

    With ``for_user``, the blind rule of ``visible_decisions`` applies per stage: in dual
    mode a reviewer sees only their own rows at a stage until two have decided there.
    """
    _record(session, review, record_id)
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
        hidden: set[str] = set()
        for stage in STAGES:
            at_stage = [d for d in decisions if d.stage == stage and d.current]
            resolved = any(r.stage == stage and r.current for r in resolutions)
            if _blind_for(session, review, for_user, at_stage, resolved):
                hidden.add(stage)
        decisions = [d for d in decisions if d.stage not in hidden or d.user_id == for_user.id]
        resolutions = [r for r in resolutions if r.stage not in hidden]
    rows: list[Decision | Resolution] = [*decisions, *resolutions]
    rows.sort(key=lambda r: (_utc(r.created_at), isinstance(r, Resolution), r.id))
    return rows


def _utc(moment: datetime) -> datetime:
    # SQLite gives back naive UTC; rows made in this session still carry their tzinfo.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
