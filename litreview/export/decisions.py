"""Each record's effective screening decision and exclusion reason at a stage.

The rule is screening's: the current resolution if a conflict was resolved; else,
once enough reviewers decided (one in single mode, two in dual mode), their decision
if they agree, or "conflict" if they do not; else nothing yet. The exports also need
the exclusion reason that goes with it, which ``screening.effective_decisions`` does
not give, so it is computed here from the current rows, in one pass per table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.models import Decision, Record, Resolution, Review

TITLE_ABSTRACT, FULL_TEXT = "title_abstract", "full_text"
# The title/abstract outcomes that send a record on to full-text screening.
PASSES = ("include", "maybe")
CONFLICT = "conflict"
REASONS_DIFFER = "(reasons differ)"


@dataclass(frozen=True)
class Outcome:
    """A record's effective decision at one stage: include, exclude, maybe or conflict."""

    decision: str
    reason: str | None


def outcomes(session: Session, review: Review, stage: str) -> dict[int, Outcome]:
    """Every live record's outcome at ``stage``; records without one are left out.

    Full-text outcomes are given for every record that has one, whatever its
    title/abstract outcome: PRISMA decides what to count.
    """
    need = 2 if review.screening_mode == "dual" else 1
    live = set(
        session.scalars(
            sa.select(Record.id).where(
                Record.review_id == review.id,
                Record.merged_into_id.is_(None),
                Record.withdrawn_at.is_(None),
            )
        )
    )
    settled: dict[int, Outcome] = {}
    for record_id, decision, reason in session.execute(
        sa.select(Resolution.record_id, Resolution.decision, Resolution.reason)
        .where(
            Resolution.review_id == review.id,
            Resolution.stage == stage,
            Resolution.current == sa.true(),
        )
        .order_by(Resolution.id)  # the newest wins, should two ever be current
    ):
        settled[record_id] = Outcome(decision, reason if decision == "exclude" else None)
    votes: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for record_id, decision, reason in session.execute(
        sa.select(Decision.record_id, Decision.decision, Decision.reason).where(
            Decision.review_id == review.id,
            Decision.stage == stage,
            Decision.current == sa.true(),
        )
    ):
        votes[record_id].append((decision, reason))
    found: dict[int, Outcome] = {}
    for record_id in live:
        if record_id in settled:
            found[record_id] = settled[record_id]
            continue
        cast = votes.get(record_id, [])
        if len(cast) < need:
            continue
        decisions = {decision for decision, _ in cast}
        if len(decisions) > 1:
            found[record_id] = Outcome(CONFLICT, None)
            continue
        [decision] = decisions
        reasons = {reason for _, reason in cast if reason}
        reason = None
        if decision == "exclude" and reasons:
            reason = reasons.pop() if len(reasons) == 1 else REASONS_DIFFER
        found[record_id] = Outcome(decision, reason)
    return found
