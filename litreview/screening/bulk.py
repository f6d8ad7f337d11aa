"""One decision for many records at once (the records table's bulk include / exclude).

Each record goes through :func:`litreview.screening.decisions.decide`, the one home of
a decision's rules: the person's role, reasons, the full-text gate, merged and
withdrawn records, blind dual screening (a bulk decision is the person's own decision,
as if made one by one) and the audit entry of each. A record ``decide`` refuses is
listed with why, and the others go ahead: ``decide`` checks everything before it
writes, so a refused record leaves nothing behind. Who may not decide at all is
refused once, before any record. One summary entry in the audit log says what the
bulk action was and which records it touched. The caller commits (one transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import audit
from litreview.accounts.users import require_role
from litreview.errors import Invalid, NotFound
from litreview.models import Decision, Review, User
from litreview.screening import outcomes
from litreview.screening.decisions import _check_decision, _clean_reason, decide
from litreview.screening.outcomes import check_stage

# A web request: 10,000 decisions take some 25 s of CPU (bench/bench_bulk.py), and SQLite
# holds its one write lock meanwhile. More at once: narrow the filter.
MAX_RECORDS = 10_000


@dataclass
class BulkOutcome:
    """What a bulk decision did: decided (a new decision row), unchanged (the person had
    made exactly this decision already) and refused (record id -> why)."""

    decided: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.decided) + len(self.unchanged) + len(self.refused)


def check_bulk(
    session: Session, review: Review, user: User, stage: str, decision: str, reason: str | None
) -> str | None:
    """What every record of a bulk decision must pass, checked once: the stage, the
    decision, the person's role (NotAllowed), the reason (Invalid; at full text an
    exclusion needs one). Returns the reason as the review spells it. The confirmation
    page asks this before it asks the person."""
    check_stage(stage)
    _check_decision(decision)
    require_role(session, review, user, "lead", "reviewer")
    return _clean_reason(review, stage, decision, reason)


def decide_many(
    session: Session,
    review: Review,
    record_ids: Sequence[int],
    user: User,
    stage: str,
    decision: str,
    *,
    reason: str | None = None,
    note: str | None = None,
) -> BulkOutcome:
    """``user``'s ``decision`` (with ``reason`` for an exclusion) on each of
    ``record_ids`` at ``stage``, in id order.

    NotAllowed (nothing written) when the person may not decide in this review; Invalid
    for a decision or reason no record could take (checked once, first). A record
    refused on its own (merged, withdrawn, not at full text, not in the review) is
    listed in ``refused`` with the reason ``decide`` gave.
    """
    reason = check_bulk(session, review, user, stage, decision, reason)
    # In id order whatever the table's order: two bulk decisions over the same records
    # take their row locks in the same order, so one waits for the other (PostgreSQL
    # would otherwise end one of them as a deadlock).
    ids = sorted(set(record_ids))
    if not ids:
        raise Invalid("no records selected: tick some rows, or choose everything matching")
    if len(ids) > MAX_RECORDS:
        raise Invalid(
            f"{len(ids):,} records selected; at most {MAX_RECORDS:,} at once: narrow the filter"
        )
    done = BulkOutcome()
    # decide() returns the person's existing row when the decision is the same again:
    # a row older than this call is "unchanged", a newer one was written by it.
    newest_before = session.scalar(sa.select(sa.func.max(Decision.id))) or 0
    for record_id in ids:
        try:
            row = decide(
                session,
                review,
                record_id,
                user,
                stage,
                decision,
                reason=reason,
                note=note,
                refresh_outcome=False,
            )
        except (Invalid, NotFound) as exc:
            done.refused[record_id] = str(exc)
            continue
        (done.decided if row.id > newest_before else done.unchanged).append(record_id)
    # The kept outcomes of every record decided, rewritten at once (the locks are held).
    outcomes.refresh(session, review, done.decided)
    audit.log(
        session,
        user.email,
        "screen.bulk_decide",
        review_id=review.id,
        stage=stage,
        decision=decision,
        reason=reason,
        note=(note or "").strip() or None,
        decided=done.decided,
        unchanged=done.unchanged,
        refused=sorted(done.refused),
    )
    session.flush()
    return done
