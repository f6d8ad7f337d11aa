"""Screening decisions and resolutions: writing them, with the rules that guard them.

Rules this module keeps (the web and the CLI rely on them):

* Only a review's leads and reviewers decide; viewers and non-members get NotAllowed.
* A decision is include, exclude or maybe. A reason goes only with exclude; at the
  full-text stage an exclusion needs one, and at title/abstract too when the review
  says so (``Review.reason_required_title_abstract``: :func:`reason_required`). When
  the review lists exclusion reasons, the reason must be one of them (matched
  ignoring case, stored as the review spells it), so the dashboard's "excluded by
  reason" stays a short list; a review without a list accepts free text.
* Full-text decisions are only for records whose title/abstract outcome is include
  or maybe (a "maybe" is settled by reading the paper); a record in conflict at
  title/abstract waits for its resolution.
* Changing a decision adds a row and clears ``current`` on the old one: the history
  stays. Deciding exactly the same again (a double click) adds nothing.
* Merged, withdrawn and (at full text) not-retrievable records are not screened (Invalid).
* Resolutions are rows of their own, never edits of the reviewers' decisions.
* Every write takes the record's row lock first (PostgreSQL; SQLite has one writer),
  so writes on one record follow each other and its kept outcome
  (:mod:`litreview.screening.outcomes`) is computed from what they all wrote.

Long because: deciding, undoing and resolving share the checks above (who, which
reason, which record, the lock) and are read together when one of them changes.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.accounts.users import NotAllowed, require_role
from litreview.errors import Invalid
from litreview.library.listing import locked_live_record
from litreview.models import AuditEntry, Decision, Record, Resolution, Review, User
from litreview.models.screening import DECISIONS
from litreview.screening import outcomes
from litreview.screening.outcomes import (
    CONFLICT,
    FULL_TEXT,
    PASSES,
    TITLE_ABSTRACT,
    check_stage,
)
from litreview.screening.sql import current

log = logging.getLogger(__name__)

# Retries when the same reviewer's undo is taken by another request at the same moment.
ATTEMPTS = 3


def _check_decision(decision: str) -> None:
    if decision not in DECISIONS:
        raise Invalid(f"decision {decision!r}: choose {', '.join(DECISIONS)}")


def _locked_screenable(session: Session, review: Review, record_id: int) -> Record:
    """The record, locked for this transaction, if it can be screened (else Invalid)."""
    record = locked_live_record(session, review, record_id, "screen")
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
        if reason_required(review, stage):
            choices = f": one of {'; '.join(allowed)}" if allowed else ""
            where = "full text" if stage == FULL_TEXT else "title/abstract in this review"
            raise Invalid(f"excluding at {where} needs a reason{choices}")
        return None
    known = review_reason(review, reason)
    if known is None:
        raise Invalid(f"reason {reason!r} is not one of this review's: {'; '.join(allowed)}")
    return known


def reason_required(review: Review, stage: str) -> bool:
    """Whether excluding a record at ``stage`` needs an exclusion reason: always at full
    text; at title/abstract when the review says so."""
    return stage == FULL_TEXT or bool(review.reason_required_title_abstract)


def review_reason(review: Review, reason: str) -> str | None:
    """The review's exclusion reason that ``reason`` names (ignoring case), as the review
    spells it; ``reason`` itself when the review lists none; None when it is not listed."""
    allowed = [r for r in (review.exclusion_reasons or []) if r]
    if not allowed:
        return reason
    for known in allowed:
        if known.casefold() == reason.strip().casefold():
            return known
    return None


def _require_full_text(session: Session, review: Review, record_id: int) -> None:
    outcome = outcomes.outcome_at(session, review, record_id, TITLE_ABSTRACT)
    if outcome not in PASSES:
        said = {None: "not decided yet", CONFLICT: "in conflict, waiting for a resolution"}
        state = said.get(outcome, f"{outcome}d")
        raise Invalid(
            f"record {record_id} is not in full-text screening: at title/abstract it is {state}"
        )


def _checked(
    session: Session,
    review: Review,
    record_id: int,
    user: User,
    stage: str,
    decision: str,
    reason: str | None,
    note: str | None,
) -> tuple[str, str | None, str | None]:
    """The rules every decision and resolution passes, then the record's lock:
    (the person's role, the cleaned reason, the cleaned note)."""
    check_stage(stage)
    _check_decision(decision)
    role = require_role(session, review, user, "lead", "reviewer")
    reason = _clean_reason(review, stage, decision, reason)
    note = (note or "").strip() or None
    record = _locked_screenable(session, review, record_id)
    if stage == FULL_TEXT:
        _require_full_text(session, review, record_id)
        if record.not_retrievable_at is not None:
            raise Invalid(f"record {record_id}'s report is marked not retrievable")
    return role, reason, note


def _store(
    session: Session,
    model: type[Decision] | type[Resolution],
    action: str,
    review: Review,
    record_id: int,
    user: User,
    stage: str,
    decision: str,
    reason: str | None,
    note: str | None,
    **details: object,
) -> Decision | Resolution:
    """A new current decision or resolution row, and its audit entry with ``details``."""
    row = model(
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
        action,
        review_id=review.id,
        target_type=model.__tablename__,
        target_id=row.id,
        record=record_id,
        stage=stage,
        decision=decision,
        reason=reason,
        note=note,
        **details,
    )
    return row


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
    imported_from: str | None = None,
    refresh_outcome: bool = True,
) -> Decision:
    """Record ``user``'s decision on a record at a stage and return its (current) row.

    ``imported_from`` (a file, a column) marks a decision carried over from another
    tool: the same rules and row, audited as "screen.imported" with where it came from.
    ``refresh_outcome`` False: the caller (a bulk decision) refreshes its records'
    outcomes at once, before its transaction ends.

    A change adds a new row and clears ``current`` on the old one; the same decision,
    reason and note again returns the existing row. Two reviewers deciding the same
    record at once, or one reviewer twice, are written one after the other (the
    record's lock), so each keeps one current row and the outcome counts both.
    Eight statements: the role, the locked record, the cleared row, the new row, its
    audit entry, and the record's outcome read, cleared and written.
    """
    _role, reason, note = _checked(session, review, record_id, user, stage, decision, reason, note)
    # The write comes first: on SQLite it takes the write lock, so what is read after it
    # is what other writers committed. RETURNING says which row was replaced.
    cleared = session.execute(
        sa.update(Decision)
        .where(
            Decision.record_id == record_id,
            Decision.stage == stage,
            Decision.user_id == user.id,
            current(Decision),
        )
        .values(current=False)
        .returning(
            Decision.id,
            Decision.decision,
            Decision.reason,
            Decision.note,
            Decision.settled_alone,
        )
        .execution_options(synchronize_session="fetch")
    ).all()
    previous = max(cleared, key=lambda r: r.id) if cleared else None
    if previous is not None and (previous.decision, previous.reason, previous.note) == (
        decision,
        reason,
        note,
    ):
        # A double click: the same decision stays current, nothing is added.
        same = session.get(Decision, previous.id)
        same.current = True
        session.flush()
        return same
    row = _store(
        session,
        Decision,
        "screen.imported" if imported_from else "screen.decide",
        review,
        record_id,
        user,
        stage,
        decision,
        reason,
        note,
        previous=previous.id if previous else None,
        previous_decision=previous.decision if previous else None,
        **({"imported_from": imported_from} if imported_from else {}),
    )
    if previous is not None and previous.settled_alone:
        # A decision kept as settled on its own when the review went dual stays so
        # when its reviewer changes it (see ``screening.modes``).
        row.settled_alone = True
    if refresh_outcome:  # else the caller does it, for all its records at once
        outcomes.refresh(session, review, [record_id])
    return row


def undo_last(session: Session, review: Review, user: User, stage: str) -> Decision | None:
    """Withdraw ``user``'s latest current decision at ``stage``; return it, or None.

    The withdrawn row stays (``current`` False, and an audit entry "screen.undo" marks
    it withdrawn). If it had replaced an earlier decision on the same record, that one
    is current again; otherwise the record is undecided for this user and comes back
    in ``next_record``. Repeated undos walk back through the user's decisions in the
    reverse order they were made, like an editor's undo.
    """
    check_stage(stage)
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
        session.execute(sa.select(Record.id).where(Record.id == latest.record_id).with_for_update())
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
            reinstated.current = True
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
        outcomes.refresh(session, review, [latest.record_id])
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


def current_decisions(session: Session, record_id: int, stage: str) -> list[Decision]:
    """The reviewers' current decisions on a record at a stage, users loaded, oldest first."""
    return list(
        session.scalars(
            sa.select(Decision)
            .where(Decision.record_id == record_id, Decision.stage == stage, current(Decision))
            .options(sa.orm.selectinload(Decision.user))
            .order_by(Decision.id)
        )
    )


def may_resolve(role: str | None, user_id: int, decisions: list[Decision]) -> bool:
    """Whether a person with ``role`` may resolve a record with these current decisions:
    a lead, or a reviewer who did not decide it (a third reviewer)."""
    if role == "lead":
        return True
    return role == "reviewer" and all(d.user_id != user_id for d in decisions)


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
    role, reason, note = _checked(session, review, record_id, user, stage, decision, reason, note)
    decisions = current_decisions(session, record_id, stage)
    if not may_resolve(role, user.id, decisions):
        raise NotAllowed(
            f"{user.email} decided record {record_id} at {stage}: "
            "a lead or a third reviewer resolves it"
        )
    previous = session.scalar(
        sa.select(Resolution)
        .where(Resolution.record_id == record_id, Resolution.stage == stage, current(Resolution))
        .order_by(Resolution.id.desc())
        .limit(1)
    )
    if previous is None:
        outcome = outcomes.outcome_at(session, review, record_id, stage)
        if outcome != CONFLICT:
            raise Invalid(
                f"record {record_id} has no conflict at {stage} to resolve "
                f"(its decision is {outcome or 'not made yet'})"
            )
    session.execute(
        sa.update(Resolution)
        .where(Resolution.record_id == record_id, Resolution.stage == stage, current(Resolution))
        .values(current=False)
    )
    row = _store(
        session,
        Resolution,
        "screen.resolve",
        review,
        record_id,
        user,
        stage,
        decision,
        reason,
        note,
        decisions={d.user.email: d.decision for d in decisions},
        previous=previous.id if previous else None,
    )
    outcomes.refresh(session, review, [record_id])
    return row
